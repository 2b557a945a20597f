//! Numbers and text formatted for people: thousands separators, one decimal
//! where it carries meaning, a real minus sign, and table-cell escaping so a
//! server's error message cannot break a GitHub markdown table.

/// `x` with `decimals` decimals and `,` thousands separators (`12,345.6`).
pub fn num(x: f64, decimals: usize) -> String {
    if !x.is_finite() {
        return if x.is_nan() {
            "n/a".into()
        } else {
            "∞".into()
        };
    }
    let s = format!("{:.*}", decimals, x.abs());
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s.as_str(), None),
    };
    let mut out = String::with_capacity(s.len() + 4);
    let negative = x < 0.0 && s.bytes().any(|b| (b'1'..=b'9').contains(&b));
    if negative {
        out.push('−');
    }
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    out
}

/// A rate in msg/s: whole numbers from 100 up (`4,210`), one decimal below (`12.5`).
pub fn rate(x: f64) -> String {
    if x.abs() >= 100.0 {
        num(x, 0)
    } else {
        num(x, 1)
    }
}

/// A count (`2,301`).
pub fn count(x: f64) -> String {
    num(x, 0)
}

/// A relative change as a signed percentage (`−3.1%`, `+12.0%`).
pub fn change(ch: f64) -> String {
    let s = num(ch * 100.0, 1);
    if s.starts_with('−') || s == "0.0" {
        format!("{s}%")
    } else {
        format!("+{s}%")
    }
}

/// A fraction as a percentage with enough precision for small losses
/// (`0%`, `0.012%`, `3.4%`).
pub fn percent(fraction: f64) -> String {
    let p = fraction * 100.0;
    if p == 0.0 {
        "0%".into()
    } else if p < 0.1 {
        format!("{}%", num(p, 3))
    } else {
        format!("{}%", num(p, 1))
    }
}

/// A duration in milliseconds (`0.8 ms`, `120.5 ms`, `1,250 ms`, `12.5 s`).
pub fn ms(x: f64) -> String {
    if x >= 10_000.0 {
        format!("{} s", num(x / 1000.0, 1))
    } else if x >= 1000.0 {
        format!("{} ms", num(x, 0))
    } else {
        format!("{} ms", num(x, 1))
    }
}

/// A number of seconds (`45.2 s`).
pub fn secs(x: f64) -> String {
    format!("{} s", num(x, 1))
}

/// An interval parameter in ms as written in scenario names (`100 ms`, `1 s`, `10 s`).
pub fn interval(ms: f64) -> String {
    if ms >= 1000.0 && (ms / 1000.0).fract() == 0.0 {
        format!("{} s", num(ms / 1000.0, 0))
    } else if ms.fract() == 0.0 {
        format!("{} ms", num(ms, 0))
    } else {
        format!("{} ms", num(ms, 1))
    }
}

/// Text safe inside a GitHub table cell: one line, `|` escaped, HTML angle
/// brackets neutralised, cut to `max` characters with `…`.
pub fn cell(text: &str, max: usize) -> String {
    let mut out = String::new();
    for (n, c) in text.chars().enumerate() {
        if n >= max {
            out.push('…');
            break;
        }
        match c {
            '|' => out.push_str("\\|"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '`' => out.push('\''),
            '\r' | '\n' | '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A plain-text table: each column as wide as its widest cell, columns two
/// spaces apart, the columns `right(i)` says are numeric aligned right.
pub fn aligned_table<R: AsRef<[String]>>(rows: &[R], right: impl Fn(usize) -> bool) -> String {
    let columns = rows.iter().map(|r| r.as_ref().len()).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.as_ref().get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .as_ref()
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, &w))| {
                let pad = " ".repeat(w - c.chars().count());
                if right(i) {
                    format!("{pad}{c}")
                } else {
                    format!("{c}{pad}")
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// What a renderer writes, as text (writing to a `String` cannot fail).
pub fn text(render: impl FnOnce(&mut String) -> std::fmt::Result) -> String {
    let mut out = String::new();
    let _ = render(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_for_people() {
        assert_eq!(num(4210.4, 0), "4,210");
        assert_eq!(num(1234567.891, 1), "1,234,567.9");
        assert_eq!(num(-0.04, 1), "0.0");
        assert_eq!(num(-1234.5, 1), "−1,234.5");
        assert_eq!(num(999.95, 1), "1,000.0");
        assert_eq!(rate(4210.0), "4,210");
        assert_eq!(rate(12.46), "12.5");
        assert_eq!(change(-0.031), "−3.1%");
        assert_eq!(change(0.12), "+12.0%");
        assert_eq!(percent(0.000_12), "0.012%");
        assert_eq!(percent(0.034), "3.4%");
        assert_eq!(ms(1250.0), "1,250 ms");
        assert_eq!(ms(45_000.0), "45.0 s");
        assert_eq!(interval(100.0), "100 ms");
        assert_eq!(interval(10_000.0), "10 s");
        assert_eq!(num(f64::NAN, 1), "n/a");
    }

    #[test]
    fn cells_cannot_break_tables() {
        assert_eq!(cell("a|b\n<script>", 100), "a\\|b &lt;script&gt;");
        assert_eq!(cell("abcdef", 3), "abc…");
    }
}
