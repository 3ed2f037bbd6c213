//! Children's beds: the overnight cases of one night at one site never exceed the site's beds that
//! night. A bed night is a (site, date) whose beds are limited; every list of that site on that
//! date draws on it. It couples lists, so the planners count beds as they book (`Beds`), the
//! decomposition keeps a night's lists in one component, and the model prices the night's row
//! (docs/model.md, "Beds").

use std::collections::HashMap;

use crate::domain::{PatientIx, PlanningRequest, SessionIx};

/// The limited bed nights of a request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BedNights {
    /// Each session's bed night, where its site limits beds that night.
    pub of_session: Vec<Option<u32>>,
    /// Beds of each night.
    pub beds: Vec<u32>,
    /// Overnight cases pinned to each night's lists (they stay whatever the beds).
    pub pinned: Vec<u32>,
}

impl BedNights {
    pub fn of(req: &PlanningRequest) -> BedNights {
        let mut nights = BedNights {
            of_session: vec![None; req.sessions.len()],
            ..BedNights::default()
        };
        if !req.beds_limited() {
            return nights;
        }
        let mut index: HashMap<(usize, crate::domain::Date), u32> = HashMap::new();
        for (s, session) in req.sessions.iter().enumerate() {
            let Some(beds) = req.beds_of(s) else { continue };
            let next = index.len() as u32;
            let g = *index.entry((session.site, session.date)).or_insert_with(|| {
                nights.beds.push(beds);
                nights.pinned.push(0);
                next
            });
            nights.of_session[s] = Some(g);
        }
        for b in &req.bookings {
            if let (Some(g), true) = (nights.of_session[b.session], req.patients[b.patient].overnight) {
                if req.is_pinned(b) {
                    nights.pinned[g as usize] += 1;
                }
            }
        }
        nights
    }

    /// The bed night patient `p` takes on list `s`, if it takes one.
    pub fn night(&self, req: &PlanningRequest, p: PatientIx, s: SessionIx) -> Option<u32> {
        self.of_session[s].filter(|_| req.patients[p].overnight)
    }

    /// Beds of night `g` left for cases that are not pinned (none when pinned cases already
    /// fill or overfill it).
    pub fn free(&self, g: u32) -> u32 {
        self.beds[g as usize].saturating_sub(self.pinned[g as usize])
    }
}

/// Beds taken as a plan is built, night by night.
#[derive(Debug, Clone)]
pub struct Beds<'a> {
    nights: &'a BedNights,
    used: Vec<u32>,
}

impl<'a> Beds<'a> {
    /// No bed taken yet (pinned cases are counted by [`BedNights::free`]).
    pub fn new(nights: &'a BedNights) -> Beds<'a> {
        Beds {
            nights,
            used: vec![0; nights.beds.len()],
        }
    }

    /// Whether `p` can go on `s` with the beds taken so far.
    pub fn room(&self, req: &PlanningRequest, p: PatientIx, s: SessionIx) -> bool {
        self.nights
            .night(req, p, s)
            .is_none_or(|g| self.used[g as usize] < self.nights.free(g))
    }

    /// Takes `p`'s bed on `s`, if it needs one.
    pub fn take(&mut self, req: &PlanningRequest, p: PatientIx, s: SessionIx) {
        if let Some(g) = self.nights.night(req, p, s) {
            self.used[g as usize] += 1;
        }
    }
}
