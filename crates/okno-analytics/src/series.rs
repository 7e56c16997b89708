//! A daily series kept as running totals, so that the count of any window is two binary searches.

/// Counts per day, stored sparsely: the days that have counts, and the running total up to and
/// including each of them.
#[derive(Debug, Clone, Default)]
pub struct Series {
    days: Vec<i32>,
    totals: Vec<i64>,
}

impl Series {
    /// Adds `n` (which may be negative) to `day`.
    pub fn add(&mut self, day: i32, n: i64) {
        let at = self.days.partition_point(|&d| d < day);
        if self.days.get(at) != Some(&day) {
            let before = if at == 0 { 0 } else { self.totals[at - 1] };
            self.days.insert(at, day);
            self.totals.insert(at, before);
        }
        for total in &mut self.totals[at..] {
            *total += n;
        }
    }

    /// Appends `n` at `day`, which must not be before the last day (the fast way to build a series).
    pub fn push(&mut self, day: i32, n: i64) {
        match self.days.last() {
            Some(&last) if last == day => *self.totals.last_mut().expect("a total per day") += n,
            Some(&last) if last > day => self.add(day, n),
            _ => {
                let before = self.totals.last().copied().unwrap_or(0);
                self.days.push(day);
                self.totals.push(before + n);
            }
        }
    }

    /// The total of all days before `day`.
    fn before(&self, day: i32) -> i64 {
        match self.days.partition_point(|&d| d < day) {
            0 => 0,
            at => self.totals[at - 1],
        }
    }

    /// The count of the days in `[from, to)`.
    pub fn sum(&self, from: i32, to: i32) -> i64 {
        self.before(to) - self.before(from)
    }

    /// The days in `[from, to)` that have a non-zero count, with their counts.
    pub fn days(&self, from: i32, to: i32) -> impl Iterator<Item = (i32, i64)> + '_ {
        let start = self.days.partition_point(|&d| d < from);
        let end = self.days.partition_point(|&d| d < to);
        let mut previous = if start == 0 { 0 } else { self.totals[start - 1] };
        (start..end).filter_map(move |i| {
            let n = self.totals[i] - previous;
            previous = self.totals[i];
            (n != 0).then_some((self.days[i], n))
        })
    }

    /// Entries held (for memory accounting).
    pub fn len(&self) -> usize {
        self.days.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_sum_the_days_inside_them() {
        let mut s = Series::default();
        for (day, n) in [(10, 2), (12, 1), (12, 3), (20, 1)] {
            s.push(day, n);
        }
        s.add(11, 5);
        s.add(12, -1);
        s.push(5, 1);
        assert_eq!(s.sum(i32::MIN, i32::MAX), 12);
        assert_eq!(s.sum(11, 13), 8);
        assert_eq!(s.sum(13, 20), 0);
        assert_eq!(s.days(0, 100).collect::<Vec<_>>(), [(5, 1), (10, 2), (11, 5), (12, 3), (20, 1)]);
        s.add(20, -1);
        assert_eq!(s.days(15, 100).count(), 0, "a day back at zero is not listed");
    }
}
