"""The interview dataset's download layout: folders, archive and member names, strata and counts.

Everything here mirrors the AI-Hub page of dataSetSn 71592 (`129.채용면접 인터뷰 데이터`) so that
ingest and prepare, built against the sample tree, read the real download unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

DATASET_DIR = "129.채용면접 인터뷰 데이터"
RELEASE_DIR = "01-1.정식개방데이터"
SOURCE_DIR = "01.원천데이터"
LABEL_DIR = "02.라벨링데이터"
PATCH_LABEL_DIR = "02.라벨링데이터_20230628_add"  # a dated patch folder, as AI-Hub ships fixes
AUDIO_PATH_PREFIX = "/Mock"  # label `audioPath` carries it; zip member paths do not
SPLITS = ("Training", "Validation")
ARCHIVE_PREFIX = {("Training", "source"): "TS", ("Training", "label"): "TL"}
ARCHIVE_PREFIX |= {("Validation", "source"): "VS", ("Validation", "label"): "VL"}
VALIDATION_SHARE = (
    0.2  # AI-Hub ships about 9:1; 8:2 here so prepare's validation and test (halves of it) hold enough
)


@dataclass(frozen=True)
class Occupation:
    folder: str  # archive and member folder, e.g. 02.SalesMarketing
    code: str  # label `info.occupation`, e.g. SM
    short: str  # file-name tag, e.g. sm


OCCUPATIONS = (
    Occupation("01.Management", "BM", "bm"),
    Occupation("02.SalesMarketing", "SM", "sm"),
    Occupation("03.PublicService", "PS", "ps"),
    Occupation("04.RND", "RND", "rnd"),
    Occupation("05.ICT", "ICT", "ict"),
    Occupation("06.Design", "ARD", "ard"),
    Occupation("07.ProductionManufacturing", "MM", "mm"),
)
GENDERS = ("Female", "Male")
EXPERIENCES = ("Experienced", "New")
GENDER_LABEL = {"Female": "FEMALE", "Male": "MALE"}
EXPERIENCE_LABEL = {"Experienced": "EXPERIENCED", "New": "NEW"}

# Label files per occupation x gender x experience, from the page's 데이터 구축 규모 table (sum 84,134).
PUBLISHED_COUNTS: dict[tuple[str, str, str], int] = {
    ("01.Management", "Female", "Experienced"): 1289,
    ("01.Management", "Female", "New"): 10334,
    ("01.Management", "Male", "Experienced"): 1700,
    ("01.Management", "Male", "New"): 5668,
    ("02.SalesMarketing", "Female", "Experienced"): 1057,
    ("02.SalesMarketing", "Female", "New"): 7444,
    ("02.SalesMarketing", "Male", "Experienced"): 1378,
    ("02.SalesMarketing", "Male", "New"): 4015,
    ("03.PublicService", "Female", "Experienced"): 2019,
    ("03.PublicService", "Female", "New"): 12866,
    ("03.PublicService", "Male", "Experienced"): 1123,
    ("03.PublicService", "Male", "New"): 5248,
    ("04.RND", "Female", "Experienced"): 98,
    ("04.RND", "Female", "New"): 2310,
    ("04.RND", "Male", "Experienced"): 375,
    ("04.RND", "Male", "New"): 3164,
    ("05.ICT", "Female", "Experienced"): 226,
    ("05.ICT", "Female", "New"): 2189,
    ("05.ICT", "Male", "Experienced"): 585,
    ("05.ICT", "Male", "New"): 4299,
    ("06.Design", "Female", "Experienced"): 482,
    ("06.Design", "Female", "New"): 5407,
    ("06.Design", "Male", "Experienced"): 199,
    ("06.Design", "Male", "New"): 2063,
    ("07.ProductionManufacturing", "Female", "Experienced"): 262,
    ("07.ProductionManufacturing", "Female", "New"): 4490,
    ("07.ProductionManufacturing", "Male", "Experienced"): 650,
    ("07.ProductionManufacturing", "Male", "New"): 3194,
}


@dataclass(frozen=True)
class Stratum:
    """One occupation x gender x experience cell: one source and one label archive per split."""

    occupation: Occupation
    gender: str  # Female | Male
    experience: str  # Experienced | New

    @property
    def name(self) -> str:
        """``01.Management_Female_Experienced``: the archive name after ``TS_``."""
        return f"{self.occupation.folder}_{self.gender}_{self.experience}"

    @property
    def member_dir(self) -> str:
        """Folder of this stratum's files inside its archives (and under ``/Mock`` in audioPath)."""
        return f"{self.occupation.folder}/{self.gender}/{self.experience}"

    @property
    def tag(self) -> str:
        """``bm_f_e``: the file-name tag between ``ckmk_<kind>_`` and the id."""
        return f"{self.occupation.short}_{self.gender[0].lower()}_{self.experience[0].lower()}"

    @property
    def published(self) -> int:
        return PUBLISHED_COUNTS[(self.occupation.folder, self.gender, self.experience)]

    def file_name(self, kind: str, record_id: int) -> str:
        """``ckmk_q_bm_f_e_123456.wav`` (q/a audio) or ``ckmk_d_..._123456.json`` (label)."""
        suffix = "json" if kind == "d" else "wav"
        return f"ckmk_{kind}_{self.tag}_{record_id:06d}.{suffix}"


STRATA = tuple(Stratum(o, g, e) for o in OCCUPATIONS for g in GENDERS for e in EXPERIENCES)


def archive_name(split: str, kind: str, stratum: Stratum) -> str:
    """``TS_01.Management_Female_Experienced.zip`` for (Training, source)."""
    return f"{ARCHIVE_PREFIX[(split, kind)]}_{stratum.name}.zip"


def _largest_remainder(total: int, weights: list[float], floor: list[int]) -> list[int]:
    """Split ``total`` in proportion to ``weights``, each share at least ``floor``.

    Hamilton's method on what is left after the floors: deterministic (ties go to the earlier
    stratum) and the shares always add up to ``total``.
    """
    rest = total - sum(floor)
    weight_sum = sum(weights)
    quotas = [rest * w / weight_sum for w in weights]
    shares = [int(q) for q in quotas]
    order = sorted(range(len(weights)), key=lambda i: (-(quotas[i] - shares[i]), i))
    for i in order[: rest - sum(shares)]:
        shares[i] += 1
    return [f + s for f, s in zip(floor, shares, strict=True)]


def allocate(records: int) -> dict[str, list[int]]:
    """Records per stratum (in ``STRATA`` order) for each split, in the published proportions.

    Training gets every stratum at least once (the rarest, 04.RND Female Experienced, is 0.12 %
    of the data and would round to zero in a small tree); Validation gets about a fifth and may
    miss tiny strata, as a real 9:1 split of a rare cell would.
    """
    if records < len(STRATA):
        raise ValueError(
            f"sample.records (--records) must be at least {len(STRATA)} so that every occupation x "
            f"gender x experience stratum has a record in Training; got {records}"
        )
    validation = min(int(records * VALIDATION_SHARE), records - len(STRATA))
    training = records - validation
    weights = [float(s.published) for s in STRATA]
    # Every stratum's floor is 1, so proportions apply to the rest: still the table's proportions
    # at scale, and no cell is empty at small N.
    return {
        "Training": _largest_remainder(training, weights, [1] * len(STRATA)),
        "Validation": _largest_remainder(validation, weights, [0] * len(STRATA)),
    }
