//! Geometry of the text interpreter: PDF's affine matrices and the page frame that turns user
//! space (bottom-left origin) into `layout.rs`'s top-left points with `/Rotate` applied.
//!
//! Kept apart from the operator loop so the coordinate conventions live in one place.

pub type Matrix = [f64; 6];
pub const IDENTITY: Matrix = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];

/// `a × b` for PDF's row-vector matrices.
pub fn mul(a: &Matrix, b: &Matrix) -> Matrix {
    [
        a[0] * b[0] + a[1] * b[2],
        a[0] * b[1] + a[1] * b[3],
        a[2] * b[0] + a[3] * b[2],
        a[2] * b[1] + a[3] * b[3],
        a[4] * b[0] + a[5] * b[2] + b[4],
        a[4] * b[1] + a[5] * b[3] + b[5],
    ]
}

pub fn translate(tx: f64, ty: f64, m: &Matrix) -> Matrix {
    mul(&[1.0, 0.0, 0.0, 1.0, tx, ty], m)
}

/// How a point in user space lands on the displayed page (top-left origin, `/Rotate` applied).
pub struct PageFrame {
    pub llx: f64,
    pub lly: f64,
    pub urx: f64,
    pub ury: f64,
    pub rotate: i64,
}

impl PageFrame {
    pub fn map(&self, x: f64, y: f64) -> (f64, f64) {
        match self.rotate {
            90 => (y - self.lly, x - self.llx),
            180 => (self.urx - x, y - self.lly),
            270 => (self.ury - y, self.urx - x),
            _ => (x - self.llx, self.ury - y),
        }
    }
    pub fn size(&self) -> (f32, f32) {
        let (w, h) = (
            (self.urx - self.llx).abs() as f32,
            (self.ury - self.lly).abs() as f32,
        );
        if self.rotate == 90 || self.rotate == 270 {
            (h, w)
        } else {
            (w, h)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotated_pages_are_read_upright() {
        let frame = PageFrame {
            llx: 0.0,
            lly: 0.0,
            urx: 595.0,
            ury: 842.0,
            rotate: 90,
        };
        assert_eq!(frame.size(), (842.0, 595.0));
        // A point near the bottom-left of the unrotated page is at the top-left once rotated.
        assert_eq!(frame.map(10.0, 20.0), (20.0, 10.0));
    }

    #[test]
    fn matrices_compose_like_pdf() {
        let scaled = mul(
            &[2.0, 0.0, 0.0, 2.0, 0.0, 0.0],
            &[1.0, 0.0, 0.0, 1.0, 10.0, 20.0],
        );
        assert_eq!(scaled, [2.0, 0.0, 0.0, 2.0, 10.0, 20.0]);
        assert_eq!(translate(5.0, 0.0, &scaled)[4], 20.0);
    }
}
