//! One proto site -> a domain site: its id and name, and its children's beds (a number each
//! night, and nights with another number), every violation reported with its field path.

use std::collections::HashMap;

use super::violations::{At, FieldPath, Violations};
use crate::api::proto as pb;
use crate::domain::{Date, Site};

/// The most children's beds a site may give for one night (a sanity bound on typing errors).
pub const MAX_BEDS: i32 = 1_000;

/// Converts `sites[i]`, recording its id in `site_ids`.
pub(super) fn convert_site(
    v: &mut Violations,
    i: usize,
    site: pb::Site,
    site_ids: &mut HashMap<String, usize>,
) -> Site {
    let pb::Site {
        id,
        name,
        specialist_centre,
        children_beds,
        bed_nights,
    } = site;
    v.id(At(|| format!("sites[{i}].id")), &id, site_ids, i, "sites");
    v.text(At(|| format!("sites[{i}].name")), &name, false);
    let children_beds = children_beds.and_then(|b| beds(v, At(|| format!("sites[{i}].children_beds")), b));
    let mut nights: Vec<(Date, u32)> = Vec::with_capacity(bed_nights.len());
    for (j, night) in bed_nights.into_iter().enumerate() {
        let pb::BedNight { date, beds: n } = night;
        let date = v.date(At(|| format!("sites[{i}].bed_nights[{j}].date")), &date);
        let n = beds(v, At(|| format!("sites[{i}].bed_nights[{j}].beds")), n);
        if let (Some(date), Some(n)) = (date, n) {
            if nights.iter().any(|&(d, _)| d == date) {
                v.add(
                    format!("sites[{i}].bed_nights[{j}].date"),
                    "a second entry for the same night",
                );
            }
            nights.push((date, n));
        }
    }
    nights.sort_unstable();
    nights.dedup_by_key(|&mut (d, _)| d);
    Site {
        id,
        name,
        specialist_centre,
        children_beds,
        bed_nights: nights,
    }
}

/// A number of children's beds: 0 to [`MAX_BEDS`].
fn beds(v: &mut Violations, at: impl FieldPath, n: i32) -> Option<u32> {
    if (0..=MAX_BEDS).contains(&n) {
        Some(n as u32)
    } else {
        v.add(at, format!("must be between 0 and {MAX_BEDS} beds"));
        None
    }
}
