//! Plain-text tables that fit 100 columns: the widest column is shortened with an ellipsis.
//! Cells are escaped (`printable::escape`): a file name from outside cannot break a row or colour
//! the terminal.

use crate::printable::escape;

/// Renders rows under a header; `flex` is the column that gives up width when the table is too wide.
pub fn render(header: &[&str], rows: &[Vec<String>], flex: usize, max_width: usize) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| escape(c).into_owned()).collect())
        .collect();
    let cols = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate().take(cols) {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let gaps = 2 * cols.saturating_sub(1);
    // The flex column gives way first, down to 12; then always the widest, down to 6.
    while widths.iter().sum::<usize>() + gaps > max_width {
        let widest = (0..cols).max_by_key(|&i| widths[i]).unwrap_or(0);
        let i = if flex < cols && widths[flex] > 12 {
            flex
        } else {
            widest
        };
        if widths[i] <= 6 {
            break;
        }
        widths[i] -= 1;
    }
    let fit = |s: &str, w: usize| -> String {
        let n = s.chars().count();
        if n <= w {
            format!("{s}{}", " ".repeat(w - n))
        } else {
            let cut: String = s.chars().take(w.saturating_sub(1)).collect();
            format!("{cut}…")
        }
    };
    let line = |cells: Vec<String>| -> String {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| fit(c, widths[i]))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = line(header.iter().map(|h| h.to_string()).collect());
    out.push('\n');
    for r in rows {
        out.push_str(&line(r));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn shrinks_the_flex_column() {
        let rows = vec![vec!["1".to_string(), "x".repeat(200)]];
        let t = super::render(&["ID", "FILE"], &rows, 1, 40);
        assert!(t.lines().all(|l| l.chars().count() <= 40), "{t}");
        assert!(t.contains('…'));
    }

    #[test]
    fn cells_from_outside_cannot_break_a_row() {
        let rows = vec![vec![
            "1".to_string(),
            "evil\x1b[31m\r\nfake row".to_string(),
        ]];
        let t = super::render(&["ID", "FILE"], &rows, 1, 100);
        assert_eq!(t.lines().count(), 2, "{t}");
        assert!(!t.contains('\x1b') && !t.contains('\r'), "{t}");
        assert!(t.contains("evil\\e[31m\\r\\nfake row"), "{t}");
    }
}
