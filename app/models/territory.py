"""Departments, municipalities and their indicators (DESIGN.md §2)."""

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, or_
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db

CATEGORIES = ("especial", "1", "2", "3", "4", "5", "6")
PRIORITY_CATEGORIES = ("5", "6")
# DNP's groups of initial capacities (Medición de Desempeño Municipal / nuevo IDF):
# C = cities, G1 high … G5 low initial endowments.
CAPACITY_GROUPS = ("C", "G1", "G2", "G3", "G4", "G5")


class Department(db.Model):
    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(2), unique=True)
    name: Mapped[str] = mapped_column(String(120))

    municipalities: Mapped[list["Municipality"]] = relationship(back_populates="department")
    label_id: Mapped[int | None] = mapped_column(ForeignKey("labels.id"), index=True)
    label: Mapped["Label | None"] = relationship(back_populates="departments")  # noqa: F821

    def __repr__(self) -> str:
        return f"<Department {self.code} {self.name}>"


class Municipality(db.Model):
    __tablename__ = "municipalities"
    __table_args__ = (
        CheckConstraint(
            "category IS NULL OR category IN ('especial','1','2','3','4','5','6')",
            name="category_valid",
        ),
        Index("ix_municipalities_department_name", "department_id", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(5), unique=True)
    name: Mapped[str] = mapped_column(String(120), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    # The category of the latest year in ``municipal_categories`` (kept in step by
    # app.domain.categories.sync_current); NULL for San Andrés and the
    # non-municipalised areas, which have none.
    category: Mapped[str | None] = mapped_column(String(8))
    # "official:<year>": the year of the official figure shown as current.
    category_source: Mapped[str | None] = mapped_column(String(40))
    pdet: Mapped[bool] = mapped_column(default=False)
    pdet_subregion_code: Mapped[int | None]
    pdet_subregion: Mapped[str | None] = mapped_column(String(120))
    population: Mapped[int | None]

    department: Mapped[Department] = relationship(back_populates="municipalities")

    @hybrid_property
    def prioritised(self) -> bool:
        """PDET, or category 5 or 6 (DESIGN.md §2)."""
        return bool(self.pdet or self.category in PRIORITY_CATEGORIES)

    @prioritised.inplace.expression
    @classmethod
    def _prioritised_expression(cls):
        return or_(cls.pdet.is_(True), cls.category.in_(PRIORITY_CATEGORIES))

    def __repr__(self) -> str:
        return f"<Municipality {self.code} {self.name}>"


class MunicipalCategory(db.Model):
    """A municipality's category (Ley 617 de 2000) and DNP capacity group in one year.

    A song's equity multiplier uses the category in force in its season's year:
    the latest year ≤ that year (DESIGN.md §6).
    """

    __tablename__ = "municipal_categories"
    __table_args__ = (
        UniqueConstraint("municipality_id", "year"),
        CheckConstraint("category IN ('especial','1','2','3','4','5','6')", name="category_valid"),
        CheckConstraint(
            "capacity_group IS NULL OR capacity_group IN ('C','G1','G2','G3','G4','G5')", name="capacity_group_valid"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(index=True)
    category: Mapped[str] = mapped_column(String(8))
    capacity_group: Mapped[str | None] = mapped_column(String(2))
    source: Mapped[str | None] = mapped_column(String(200))

    municipality: Mapped[Municipality] = relationship()


class NeedWeights(db.Model):
    """Weights of the need score (one row; an admin setting, DESIGN.md §6)."""

    __tablename__ = "need_weights"
    __table_args__ = (
        CheckConstraint(
            "idf_weight >= 0 AND capacity_weight >= 0 AND pdet_weight >= 0", name="need_weights_nonnegative"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    idf_weight: Mapped[float] = mapped_column(default=0.5)
    capacity_weight: Mapped[float] = mapped_column(default=0.3)
    pdet_weight: Mapped[float] = mapped_column(default=0.2)


class MunicipalIndicator(db.Model):
    """A yearly municipal indicator (MDM, IDF, IPM, population…), imported from CSV."""

    __tablename__ = "municipal_indicators"
    __table_args__ = (UniqueConstraint("municipality_id", "indicator", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id", ondelete="CASCADE"))
    indicator: Mapped[str] = mapped_column(String(40))
    year: Mapped[int]
    value: Mapped[float]
    source: Mapped[str | None] = mapped_column(String(200))

    municipality: Mapped[Municipality] = relationship()
