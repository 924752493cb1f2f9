"""Colombian business days (DESIGN.md §4), expected values counted on a 2024 calendar by hand."""

from datetime import date

from app.domain import calendar


def test_holidays_and_weekends_are_not_business_days():
    assert calendar.is_business_day(date(2024, 3, 1))  # Friday
    assert not calendar.is_business_day(date(2024, 3, 2))  # Saturday
    assert not calendar.is_business_day(date(2024, 3, 25))  # San José, moved to Monday (Ley Emiliani)
    assert not calendar.is_business_day(date(2024, 3, 28))  # Jueves Santo
    assert not calendar.is_business_day(date(2024, 7, 20))  # Independencia (Saturday anyway)
    assert not calendar.is_business_day(date(2024, 12, 25))


def test_late_business_days_counts_after_the_due_date():
    assert calendar.late_business_days(date(2024, 3, 1), date(2024, 3, 1)) == 0
    assert calendar.late_business_days(date(2024, 3, 1), date(2024, 2, 20)) == 0  # early is on time
    assert calendar.late_business_days(date(2024, 3, 1), date(2024, 3, 8)) == 5  # Mon..Fri
    # Friday 22/03 -> Friday 05/04: 25, 28, 29 March are holidays; 26, 27 March, 1–5 April count = 7
    assert calendar.late_business_days(date(2024, 3, 22), date(2024, 4, 5)) == 7


def test_add_business_days_and_days_left():
    assert calendar.add_business_days(date(2024, 3, 22), 1) == date(2024, 3, 26)  # skips weekend + San José
    assert calendar.business_days_left(date(2024, 3, 8), date(2024, 3, 4)) == 4
    assert calendar.business_days_left(date(2024, 3, 4), date(2024, 3, 8)) == -4
