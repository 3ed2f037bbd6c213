//! The shipped CSVs: they import into the sample week.

use theatre_optimiser::io::import::{self, Source, Sources};

use crate::support::files::root;
use crate::support::sample;

#[test]
fn shipped_csvs_import_into_the_sample_request() {
    let read = |name: &str| std::fs::read_to_string(root(&format!("examples/csv/{name}"))).unwrap();
    let (sessions, ptl, sites, bookings) = (
        read("sessions.csv"),
        read("ptl.csv"),
        read("sites.csv"),
        read("bookings.csv"),
    );
    let imported = import::import(
        &Sources {
            sessions: Source {
                name: "sessions.csv",
                text: &sessions,
            },
            patients: Source {
                name: "ptl.csv",
                text: &ptl,
            },
            sites: Some(Source {
                name: "sites.csv",
                text: &sites,
            }),
            bookings: Some(Source {
                name: "bookings.csv",
                text: &bookings,
            }),
        },
        "2026-11-23",
        "default",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(imported.request, sample(), "the CSVs are the sample week");
}
