//! Realistic request generator (being written).
