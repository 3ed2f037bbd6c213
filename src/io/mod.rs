//! Files for people: `import` (trust CSV exports into a request, validated as the service would),
//! `report` (one self-contained HTML page per plan or comparison: KPIs, timeline, tables) and
//! `summary` (a plan as text for a terminal). They read and write proto messages, the API's own
//! shapes, so they sit above the API's door.
//!
//! Imports: `api`, `domain`.

pub mod import;
pub mod report;
pub mod summary;
