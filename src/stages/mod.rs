//! Pipeline stages (being written).
