import numpy as np

from clustermodel.scenarios import classify, pearson


def test_pearson_of_a_constant_variable_is_nan_even_when_its_mean_rounds():
    # mean(7669.99, 7669.99, 7669.99) != 7669.99 in binary: r came out as 6e-17 instead of undefined
    assert np.isnan(pearson([7669.99] * 3, [0.0, 0.0, 0.01]))
    assert np.isnan(pearson([0.0, 0.0, 0.01], [7669.99] * 3))
    np.testing.assert_allclose(pearson([1.0, 2.0, 4.0], [2.0, 4.0, 8.0]), 1.0)


def test_pearson_batched_with_one_constant_row():
    x = np.array([[1.0, 1.0, 1.0], [1.0, 2.0, 3.0]])
    r = pearson(x, np.array([3.0, 1.0, 2.0]))
    assert np.isnan(r[0]) and r[1] == -0.5


def test_classify_codes():
    assert classify([True, True, False, False], [True, False, False, True]).tolist() == [0, 1, 2, 3]
