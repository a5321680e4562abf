//! Raw field scores turned into probabilities that the value is right.
//!
//! The pickers' scores rank candidates well but are not probabilities: a 0.85 from the tax picker
//! and a 0.85 from the name picker were right at very different rates. Per field, a monotone step
//! map from raw score to the share of right readings, fitted on labelled documents
//! (`facteur bench stp --fit` writes models/calibration.toml from fixtures/generated/dev), makes
//! "0.9" mean "right nine times in ten", so `read.review_threshold` bounds the error rate of what
//! goes through. Embedded with include_str! like the label lexicon: a refit needs a rebuild.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::domain::{Field, Method};

/// Raw-score bin edges: a score falls in the first bin whose upper edge exceeds it.
pub const EDGES: [f32; 9] = [0.3, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 1.01];

/// How many readings the prior is worth in a bin: the pooled map (all fields) is the prior of each
/// field's map, and "the raw score itself" that of the pooled map.
const PRIOR_WEIGHT: f64 = 4.0;

/// One monotone map: per bin of `EDGES`, the probability a reading in it is right, and the number
/// of labelled readings it was fitted on (0: the bin was empty, its value is interpolated).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Steps {
    pub p: Vec<f64>,
    pub n: Vec<u32>,
}

impl Steps {
    fn at(&self, raw: f32) -> f32 {
        let i = EDGES
            .iter()
            .position(|e| raw < *e)
            .unwrap_or(EDGES.len() - 1);
        self.p.get(i).map_or(raw, |p| *p as f32)
    }

    /// Fits a map on (raw score, right) pairs. Per bin, right/all shrunk towards `prior` as if
    /// `PRIOR_WEIGHT` readings at the prior's rate had been added (an empty bin takes the prior,
    /// a thin one stays near it), and never above Laplace's rule of succession, (right + 1) /
    /// (all + 2): n readings all right say the next is right with probability (n+1)/(n+2), not 1,
    /// however sure the prior. Then adjacent violators are pooled so that a higher score never
    /// means a lower probability.
    pub fn fit(samples: &[(f32, bool)], prior: &[f64]) -> Steps {
        let mut right = vec![0u32; EDGES.len()];
        let mut n = vec![0u32; EDGES.len()];
        for &(raw, ok) in samples {
            let i = EDGES
                .iter()
                .position(|e| raw < *e)
                .unwrap_or(EDGES.len() - 1);
            n[i] += 1;
            right[i] += u32::from(ok);
        }
        let mut blocks: Vec<(f64, f64, usize)> = Vec::new();
        for i in 0..EDGES.len() {
            let p0 = prior.get(i).copied().unwrap_or(0.5);
            let t = f64::from(n[i]) + PRIOR_WEIGHT;
            let mut v = (f64::from(right[i]) + PRIOR_WEIGHT * p0) / t;
            if n[i] > 0 {
                v = v.min((f64::from(right[i]) + 1.0) / (f64::from(n[i]) + 2.0));
            }
            blocks.push((v * t, t, 1));
            while blocks.len() > 1 {
                let (r2, t2, c2) = blocks[blocks.len() - 1];
                let (r1, t1, c1) = blocks[blocks.len() - 2];
                if r1 / t1 <= r2 / t2 {
                    break;
                }
                blocks.pop();
                blocks.pop();
                blocks.push((r1 + r2, t1 + t2, c1 + c2));
            }
        }
        let mut p = Vec::with_capacity(EDGES.len());
        for (r, t, c) in blocks {
            // Four decimals: a 0.9996 must not print as a certainty.
            let v = ((r / t) * 10_000.0).round() / 10_000.0;
            p.extend(std::iter::repeat_n(v, c));
        }
        Steps { p, n }
    }
}

/// Each bin's middle: what an uncalibrated score would claim.
fn raw_prior() -> Vec<f64> {
    EDGES
        .iter()
        .enumerate()
        .map(|(i, hi)| {
            let lo = if i == 0 { 0.0 } else { EDGES[i - 1] };
            f64::from((lo + hi.min(1.0)) / 2.0)
        })
        .collect()
}

/// The fitted maps: one per field with enough samples, and a pooled one for the rest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Calibration {
    /// Documents the maps were fitted on (for people reading the file).
    #[serde(default)]
    pub fitted_on: String,
    pub pooled: Option<Steps>,
    #[serde(default)]
    pub field: BTreeMap<Field, Steps>,
}

/// models/calibration.toml: one calibration per visual reader, since OCR's scores mean less
/// than the text layer's at the same value (each is fitted on its own readings of the same
/// documents).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Calibrations {
    #[serde(default)]
    pub text: Calibration,
    #[serde(default)]
    pub ocr: Calibration,
}

impl Calibrations {
    /// models/calibration.toml, built into the binary.
    pub fn embedded() -> &'static Calibrations {
        static C: OnceLock<Calibrations> = OnceLock::new();
        C.get_or_init(|| {
            toml::from_str(include_str!("../../../models/calibration.toml"))
                .expect("models/calibration.toml is valid (checked by a unit test)")
        })
    }

    /// The calibration of a reader's scores; structured XML is certain and never calibrated.
    pub fn of(&self, method: Method) -> Option<&Calibration> {
        match method {
            Method::Text => Some(&self.text),
            Method::Ocr => Some(&self.ocr),
            Method::Xml => None,
        }
    }
}

impl Calibration {
    /// The probability for a raw score of `field`; the raw score itself when nothing was fitted.
    pub fn probability(&self, field: Field, raw: f32) -> f32 {
        match self.field.get(&field).or(self.pooled.as_ref()) {
            Some(s) => s.at(raw),
            None => raw,
        }
    }

    pub fn apply(&self, conf: &mut BTreeMap<Field, f32>) {
        for (f, c) in conf.iter_mut() {
            *c = self.probability(*f, *c);
        }
    }

    /// Fits the pooled map on every reading (prior: the raw score, at the bin's middle), then
    /// each field's map with the pooled one as its prior.
    pub fn fit(samples: &[(Field, f32, bool)], fitted_on: &str) -> Calibration {
        let all: Vec<(f32, bool)> = samples.iter().map(|s| (s.1, s.2)).collect();
        let pooled = Steps::fit(&all, &raw_prior());
        let mut field = BTreeMap::new();
        for f in Field::ALL {
            let own: Vec<(f32, bool)> = samples
                .iter()
                .filter(|s| s.0 == f)
                .map(|s| (s.1, s.2))
                .collect();
            if !own.is_empty() {
                field.insert(f, Steps::fit(&own, &pooled.p));
            }
        }
        Calibration {
            fitted_on: fitted_on.to_string(),
            pooled: Some(pooled),
            field,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_calibration_parses() {
        let c = Calibrations::embedded();
        assert!(c.text.pooled.is_some() && c.ocr.pooled.is_some());
    }

    #[test]
    fn a_fitted_map_is_monotone_and_never_certain() {
        // Raw 0.9 right 9 times in 10, raw 0.55 right once in 4, raw 0.75 right 1 in 4 then
        // a violator (0.65 right 4 in 4) pooled with its neighbour.
        let mut s = vec![(0.92, true); 9];
        s.push((0.92, false));
        s.extend([(0.55, true), (0.55, false), (0.55, false), (0.55, false)]);
        s.extend([(0.65, true); 4]);
        s.extend([(0.75, false), (0.75, false), (0.75, false), (0.75, true)]);
        let m = Steps::fit(&s, &raw_prior());
        assert!(m.p.windows(2).all(|w| w[0] <= w[1]), "{:?}", m.p);
        assert!(m.at(0.92) < 1.0 && m.at(0.92) > 0.75, "{}", m.at(0.92));
        assert!(m.at(0.55) < 0.5);
        // 200 readings all right, with a prior of near-certainty: (200+1)/(200+2), not 1.
        let mut prior = raw_prior();
        prior[8] = 0.9999;
        let sure = Steps::fit(&vec![(0.97, true); 200], &prior);
        assert!(
            (sure.at(0.97) - 201.0 / 202.0).abs() < 1e-4,
            "{}",
            sure.at(0.97)
        );
    }

    #[test]
    fn without_a_fit_the_raw_score_stays() {
        let c = Calibration::default();
        assert_eq!(c.probability(Field::TotalTax, 0.42), 0.42);
    }
}
