import numpy as np
import pandas as pd
import pytest
from conftest import DATA

from clustermodel import ClusterModelWarning, InputError
from clustermodel.data import load_study, load_weights

WEIGHTS = "indicator,weight\na,0.5\nb,0.5\n"
REGIONS = "region,r1,r2\nNorth,1,2\nSouth,3,4\n"


def test_paper_tables_shape_and_values(paper):
    assert paper.indicators.sizes == {"cluster": 25, "indicator": 4}
    assert paper.regions["indicators"].sizes == {"region": 19, "indicator": 4}
    assert paper.weights.values.tolist() == [0.21, 0.31, 0.22, 0.26]
    # n/a becomes missing, not 0; a printed 0 stays 0
    assert np.isnan(paper.indicators.sel(cluster=3, indicator="international_members"))
    assert paper.indicators.sel(cluster=1, indicator="international_members") == 0
    assert paper.indicators.sel(cluster=20, indicator="export_volume") == 72.4
    assert paper.regions["indicators"].sel(region="Kaluga region", indicator="trade_surplus_per_capita") == -7611.71
    assert paper.indicators["indicator"].attrs["units"][1] == "bln RUB"
    assert int(np.isnan(paper.indicators.values).sum()) == 15  # 13 members, 1 export (no. 11), 1 R&D (no. 12)


def test_cluster_regions_match_table6_exactly(paper):
    raw_c = pd.read_csv(DATA / "clusters.csv")
    raw_r = pd.read_csv(DATA / "regions.csv")
    assert set(raw_c["region"]) <= set(raw_r["region"])
    assert len(set(raw_c["region"])) == 19 == len(raw_r)
    # every cluster's region is named in its own cluster name (Table 5 names carry the location)
    for name, region in zip(raw_c["name"], raw_c["region"]):
        stem = region.replace(" region", "").replace(" republic", "").replace("Nizhny", "Nizhniy")
        assert stem.split()[0] in name, (name, region)


def test_groups_follow_table5_headings(paper):
    groups = paper.clusters["group"].values
    assert list(groups[:4]) == ["Nuclear industries"] * 4
    assert len(set(groups)) == 6


def test_non_numeric_cell_names_file_line_column(write_csv):
    c = write_csv("c.csv", "no,a,b\n1,1,2\n2,x1,3\n")
    w = write_csv("w.csv", WEIGHTS)
    with pytest.raises(InputError) as e:
        load_study(c, w)
    msg = str(e.value)
    assert "c.csv" in msg and "line 3" in msg and "column 'a'" in msg and "'x1' is not a number" in msg


def test_decimal_comma_gets_a_hint(write_csv):
    c = write_csv("c.csv", 'no,a,b\n1,"1,5",2\n2,1,3\n')
    with pytest.raises(InputError, match="decimal point"):
        load_study(c, write_csv("w.csv", WEIGHTS))


def test_unknown_region_is_rejected_with_location(write_csv):
    c = write_csv("c.csv", "no,region,a,b\n1,North,1,2\n2,Wests,2,3\n")
    with pytest.raises(InputError) as e:
        load_study(c, write_csv("w.csv", WEIGHTS), regions=write_csv("r.csv", REGIONS))
    msg = str(e.value)
    assert "line 3" in msg and "column 'region'" in msg and "'Wests' is not in the regions table" in msg


def test_missing_column_is_named(write_csv):
    c = write_csv("c.csv", "id,a,b\n1,1,2\n")
    with pytest.raises(InputError, match=r"c.csv, line 1: required column\(s\) 'code' not found.*--id-column"):
        load_study(c, write_csv("w.csv", WEIGHTS), id_column="code")


def test_weight_for_an_indicator_the_table_lacks_names_the_weights_row(write_csv):
    c = write_csv("c.csv", "no,a\n1,1\n")
    with pytest.raises(InputError, match=r"w.csv, line 3, column 'indicator': weight for unknown indicator 'b': .*c.csv has no column 'b'"):
        load_study(c, write_csv("w.csv", WEIGHTS))


def test_duplicate_ids_rejected(write_csv):
    c = write_csv("c.csv", "no,a,b\n1,1,2\n1,1,3\n")
    with pytest.raises(InputError, match="duplicate identifier '1' \\(first on line 2\\)"):
        load_study(c, write_csv("w.csv", WEIGHTS))


def test_all_missing_indicator_rejected(write_csv):
    c = write_csv("c.csv", "no,a,b\n1,,2\n2,n/a,3\n")
    with pytest.raises(InputError, match="column 'a'.*missing for every row"):
        load_study(c, write_csv("w.csv", WEIGHTS))


def test_zero_indicator_warns(write_csv):
    c = write_csv("c.csv", "no,a,b\n1,0,2\n2,0,3\n")
    with pytest.warns(ClusterModelWarning, match="zero for every row"):
        load_study(c, write_csv("w.csv", WEIGHTS))


def test_empty_file(write_csv):
    with pytest.raises(InputError, match="empty"):
        load_study(write_csv("c.csv", ""), write_csv("w.csv", WEIGHTS))


def test_weights_rounding_is_renormalised_with_warning(write_csv):
    with pytest.warns(ClusterModelWarning, match="renormalised"):
        w = load_weights(write_csv("w.csv", "indicator,weight\na,0.333\nb,0.666\n"))
    assert w.sum() == pytest.approx(1.0)


def test_weights_far_from_one_rejected(write_csv):
    with pytest.raises(InputError, match="sum to 1.5, not 1; they are rejected"):
        load_weights(write_csv("w.csv", "indicator,weight\na,1\nb,0.5\n"))


def test_negative_weight_rejected(write_csv):
    with pytest.raises(InputError, match="line 3.*negative weight"):
        load_weights(write_csv("w.csv", "indicator,weight\na,1.2\nb,-0.2\n"))


def test_method_caveat_counts_the_clusters_that_share_a_region():
    """docs/method.md caveat 5 states these counts; they are the data's."""
    import pandas as pd

    from clustermodel.paper import paper_data_dir

    sizes = pd.read_csv(paper_data_dir() / "clusters.csv").groupby("region").size()
    shared = sizes[sizes > 1]
    assert (len(sizes), len(shared), int(shared.sum())) == (19, 5, 11)
    assert shared.to_dict() == {"Moscow": 2, "Moscow region": 3, "Nizhny Novgorod region": 2, "Saint-Petersburg": 2, "Ulyanovsk region": 2}
