"""Departments, municipalities and their indicators (DESIGN.md §2)."""

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, or_
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db

CATEGORIES = ("especial", "1", "2", "3", "4", "5", "6")
PRIORITY_CATEGORIES = ("5", "6")


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
    category: Mapped[str | None] = mapped_column(String(8))
    # Where the category came from: "official:<year>" after an import, "demo" for
    # the clearly labelled synthetic sample of the demo seed.
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
