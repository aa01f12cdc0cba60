#!/usr/bin/env python3
"""Writes mbt/src/engine/nyse_days.rs: the NYSE's full-day closures and early
(13:00 New York) closes for 2000-2040, from the exchange's holiday rules
(Rule 7.2: New Year's Day, Martin Luther King Jr. Day, Washington's
Birthday, Good Friday, Memorial Day, Juneteenth from 2022, Independence Day,
Labor Day, Thanksgiving, Christmas; a Saturday holiday is taken on the
Friday before, except New Year's Day; a Sunday one on the Monday after) and
the one-off closures the exchange announced. Early closes: July 3 when
Independence Day falls Tuesday to Friday, the day after Thanksgiving, and
Christmas Eve when Christmas falls Tuesday to Friday.

    python3 scripts/nyse_calendar.py > mbt/src/engine/nyse_days.rs
"""
import datetime as dt

ONE_OFF = {  # closures no rule gives
    dt.date(2001, 9, 11), dt.date(2001, 9, 12), dt.date(2001, 9, 13), dt.date(2001, 9, 14),
    dt.date(2004, 6, 11),  # President Reagan's funeral
    dt.date(2007, 1, 2),   # President Ford's funeral
    dt.date(2012, 10, 29), dt.date(2012, 10, 30),  # Hurricane Sandy
    dt.date(2018, 12, 5),  # President G. H. W. Bush's funeral
    dt.date(2025, 1, 9),   # President Carter's funeral
}


def easter(y):
    a, b, c = y % 19, y // 100, y % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l) // 451
    month = (h + l - 7 * m + 114) // 31
    day = (h + l - 7 * m + 114) % 31 + 1
    return dt.date(y, month, day)


def nth(y, month, weekday, n):
    d = dt.date(y, month, 1)
    d += dt.timedelta((weekday - d.weekday()) % 7)
    return d + dt.timedelta(7 * (n - 1))


def last(y, month, weekday):
    d = dt.date(y, month + 1, 1) - dt.timedelta(1)
    return d - dt.timedelta((d.weekday() - weekday) % 7)


def observed(d, saturday_to_friday=True):
    if d.weekday() == 5:
        return d - dt.timedelta(1) if saturday_to_friday else None
    if d.weekday() == 6:
        return d + dt.timedelta(1)
    return d


def year(y):
    days = [
        observed(dt.date(y, 1, 1), saturday_to_friday=False),
        nth(y, 1, 0, 3), nth(y, 2, 0, 3), easter(y) - dt.timedelta(2), last(y, 5, 0),
        observed(dt.date(y, 6, 19)) if y >= 2022 else None,
        observed(dt.date(y, 7, 4)), nth(y, 9, 0, 1), nth(y, 11, 3, 4),
        observed(dt.date(y, 12, 25)),
    ]
    closed = {d for d in days if d} | {d for d in ONE_OFF if d.year == y}
    early = {nth(y, 11, 3, 4) + dt.timedelta(1)}
    if dt.date(y, 7, 4).weekday() in (1, 2, 3, 4):
        early.add(dt.date(y, 7, 3))
    if dt.date(y, 12, 25).weekday() in (1, 2, 3, 4):
        early.add(dt.date(y, 12, 24))
    return closed, early - closed


closed, early = set(), set()
for y in range(2000, 2041):
    c, e = year(y)
    closed |= c
    early |= e


def rows(ds):
    return "\n".join(f"    ({d.year}, {d.month}, {d.day})," for d in sorted(ds))


print(f"""//! The NYSE's full-day closures and early closes, 2000-2040, as data.
//! Written by `scripts/nyse_calendar.py` (the exchange's holiday rules and
//! its one-off closures); edit the script, not this file.

/// Days the exchange does not open, as (year, month, day).
pub const CLOSED: &[(i32, u32, u32)] = &[
{rows(closed)}
];

/// Days the exchange closes at 13:00 New York time.
pub const EARLY_CLOSE: &[(i32, u32, u32)] = &[
{rows(early)}
];""")
