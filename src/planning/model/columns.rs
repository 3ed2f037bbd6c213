//! A list's patterns as bit columns, for the proof's scans: which patterns avoid the cases
//! taken, read 64 patterns at a time.

/// Patients a component may have for the proof: a row number fits in a byte.
pub const MAX_ROWS: usize = 128;

/// The sum of `price` over the patients in `mask`.
pub fn price_of(mut mask: u128, price: &[f64]) -> f64 {
    let mut sum = 0.0;
    while mask != 0 {
        sum += price[mask.trailing_zeros() as usize];
        mask &= mask - 1;
    }
    sum
}

/// A list's patterns as bit columns: for each case the list may take, a row with one bit per
/// pattern (in the list's order) that holds the case. The patterns that avoid a set of cases
/// are the zero bits of the OR of those cases' rows, read 64 patterns at a time.
pub struct Columns {
    reach: u128,
    /// Row of each local patient (`u32::MAX` for those outside `reach`); fewer than
    /// `MAX_ROWS`, so a row number fits in a byte.
    row: Vec<u32>,
    words: usize,
    bits: Vec<u64>,
}

impl Columns {
    pub fn new(masks: &[u128], reach: u128) -> Columns {
        let words = masks.len().div_ceil(64);
        let mut row = vec![u32::MAX; MAX_ROWS];
        let mut rows = 0;
        let mut m = reach;
        while m != 0 {
            row[m.trailing_zeros() as usize] = rows;
            rows += 1;
            m &= m - 1;
        }
        let mut bits = vec![0u64; rows as usize * words];
        for (j, &mask) in masks.iter().enumerate() {
            let mut m = mask;
            while m != 0 {
                let r = row[m.trailing_zeros() as usize] as usize;
                bits[r * words + j / 64] |= 1 << (j % 64);
                m &= m - 1;
            }
        }
        Columns {
            reach,
            row,
            words,
            bits,
        }
    }

    /// How many patterns below `end` take none of `used`, counted up to `enough`.
    pub fn count_avoiding(&self, used: u128, end: usize, enough: usize) -> usize {
        let (rows, n) = self.rows_of(used);
        let mut count = 0;
        for w in 0..end.div_ceil(64) {
            count += self.fitting(&rows[..n], w, end).count_ones() as usize;
            if count >= enough {
                break;
            }
        }
        count
    }

    /// The positions below `end` of the patterns that take none of `used`, in order.
    pub fn avoiding(&self, used: u128, end: usize) -> Avoiding<'_> {
        let (rows, n) = self.rows_of(used);
        Avoiding {
            columns: self,
            rows,
            n,
            next_word: 0,
            base: 0,
            fits: 0,
            end,
        }
    }

    /// The rows of the cases in `used` that the list may take (the first `n` of the array).
    fn rows_of(&self, used: u128) -> ([u8; MAX_ROWS], usize) {
        let mut rows = [0u8; MAX_ROWS];
        let mut n = 0;
        let mut m = used & self.reach;
        while m != 0 {
            rows[n] = self.row[m.trailing_zeros() as usize] as u8;
            n += 1;
            m &= m - 1;
        }
        (rows, n)
    }

    /// Word `w` of the patterns below `end` that take none of the cases in `rows`: a bit each.
    fn fitting(&self, rows: &[u8], w: usize, end: usize) -> u64 {
        let clash = rows
            .iter()
            .fold(0u64, |c, &r| c | self.bits[r as usize * self.words + w]);
        let left = end - w * 64;
        if left < 64 {
            !clash & ((1u64 << left) - 1)
        } else {
            !clash
        }
    }
}

pub struct Avoiding<'a> {
    columns: &'a Columns,
    rows: [u8; MAX_ROWS],
    n: usize,
    next_word: usize,
    /// Position of bit 0 of `fits`.
    base: usize,
    fits: u64,
    end: usize,
}

impl Iterator for Avoiding<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        loop {
            if self.fits != 0 {
                let j = self.base + self.fits.trailing_zeros() as usize;
                self.fits &= self.fits - 1;
                return Some(j);
            }
            let w = self.next_word;
            if w * 64 >= self.end {
                return None;
            }
            self.next_word += 1;
            self.base = w * 64;
            self.fits = self.columns.fitting(&self.rows[..self.n], w, self.end);
        }
    }
}

/// The list chosen last. Once it is chosen every case is booked or not, so a complete plan
/// wastes the waste so far, the prices of the cases still open to this list, and its pattern's
/// reduced cost less the prices of the cases it takes: its patterns in the order of that last
/// term (`key`), so that the best completion is the first pattern that avoids the cases taken.
pub struct Last {
    pub keys: Vec<f64>,
    /// The pattern (its position in the list's own order) at each position of this order.
    pub index: Vec<u32>,
    pub columns: Columns,
}

impl Last {
    pub fn new(masks: &[u128], rcs: &[f64], price: &[f64], reach: u128) -> Last {
        let key: Vec<f64> = masks
            .iter()
            .zip(rcs)
            .map(|(&mask, &rc)| rc - price_of(mask, price))
            .collect();
        let mut index: Vec<u32> = (0..masks.len() as u32).collect();
        // Positions are distinct, so the order is total and an unstable sort gives the same one.
        index.sort_unstable_by(|&a, &b| key[a as usize].total_cmp(&key[b as usize]).then(a.cmp(&b)));
        let keys = index.iter().map(|&i| key[i as usize]).collect();
        let ordered: Vec<u128> = index.iter().map(|&i| masks[i as usize]).collect();
        Last {
            keys,
            index,
            columns: Columns::new(&ordered, reach),
        }
    }
}
