"""Calendar helpers shared by features and revenue metrics (UTC days, months)."""

import calendar
from datetime import UTC, date, datetime, timedelta

DAY = timedelta(days=1)


def floor_day(moment: datetime) -> datetime:
    """The UTC midnight at or before `moment`."""
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)


def ceil_day(moment: datetime) -> datetime:
    """The UTC midnight at or after `moment`."""
    floor = floor_day(moment)
    return floor if floor == moment else floor + DAY


def utc_date(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def add_months(day: date, months: int) -> date:
    """The same day `months` later (or earlier), clamped to the month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def month_end(day: date) -> date:
    return date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])


def quarter_end(day: date) -> date:
    return month_end(date(day.year, (day.month - 1) // 3 * 3 + 3, 1))


def quarter_label(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
