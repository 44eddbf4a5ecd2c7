//! SQL written once for both databases: named placeholders (`{m}`) numbered as each database
//! wants them (`?1`, `$1`), and a few expressions that the two write differently — `MONTH(x)`
//! (`YYYY-MM`), `DAY(x)`, `DAYS(a; b)`, `PLUS_MONTHS(date; n)`, `PLUS_DAYS(date; n)` — filled in.
//! Used by the statistics and by the reports' monthly roll-up, which aggregate in SQL.

#[derive(Clone, Copy)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// The statement for this database: those of `placeholders` it uses numbered in order (see
    /// [`used`]), the expressions filled in.
    pub fn sql(self, template: &str, placeholders: &[&str]) -> String {
        let mut sql = template.to_string();
        for (n, i) in used(template, placeholders).into_iter().enumerate() {
            let param = match self {
                Dialect::Sqlite => format!("?{}", n + 1),
                Dialect::Postgres => format!("${}", n + 1),
            };
            sql = sql.replace(placeholders[i], &param);
        }
        // MONTH(x): "YYYY-MM" of a time or date.
        sql = replace_calls(&sql, "MONTH", |arg| match self {
            Dialect::Sqlite => format!("strftime('%Y-%m', {arg})"),
            Dialect::Postgres => format!("to_char({arg}, 'YYYY-MM')"),
        });
        // DAY(x): the date of a time.
        sql = replace_calls(&sql, "DAY", |arg| match self {
            Dialect::Sqlite => format!("date({arg})"),
            Dialect::Postgres => format!("CAST({arg} AS DATE)"),
        });
        // DAYS(a; b): whole days from the date of a to the date of b.
        sql = replace_calls(&sql, "DAYS", |args| {
            let (a, b) = args.split_once(';').expect("DAYS(a; b)");
            let b = b.trim();
            match self {
                Dialect::Sqlite => {
                    format!("CAST(julianday(date({b})) - julianday(date({a})) AS INTEGER)")
                }
                Dialect::Postgres => format!("(CAST({b} AS DATE) - CAST({a} AS DATE))"),
            }
        });
        // PLUS_MONTHS(date; n) and PLUS_DAYS(date; n): the date that many months/days later.
        sql = replace_calls(&sql, "PLUS_MONTHS", |args| {
            let (a, n) = args.split_once(';').expect("PLUS_MONTHS(a; n)");
            match self {
                Dialect::Sqlite => format!("date({a}, '+{} months')", n.trim()),
                Dialect::Postgres => {
                    format!("CAST({a} + INTERVAL '{} months' AS DATE)", n.trim())
                }
            }
        });
        sql = replace_calls(&sql, "PLUS_DAYS", |args| {
            let (a, n) = args.split_once(';').expect("PLUS_DAYS(a; n)");
            let n = n.trim();
            match self {
                Dialect::Sqlite => format!("date({a}, '+' || ({n}) || ' days')"),
                Dialect::Postgres => format!("({a} + ({n}))"),
            }
        });
        sql
    }
}

/// Which of `placeholders` a statement uses (their indexes): only those are bound, as both
/// databases refuse a value for a parameter the statement does not have.
pub fn used(template: &str, placeholders: &[&str]) -> Vec<usize> {
    (0..placeholders.len())
        .filter(|i| template.contains(placeholders[*i]))
        .collect()
}

/// Replaces every `NAME(args)` (args without nested parentheses) by `f(args)`.
fn replace_calls(sql: &str, name: &str, f: impl Fn(&str) -> String) -> String {
    let pattern = format!("{name}(");
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(at) = rest.find(&pattern) {
        // Only the whole word: not the tail of another name (DAYS in PLUS_DAYS).
        let before = rest[..at].chars().last();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            out.push_str(&rest[..at + pattern.len()]);
            rest = &rest[at + pattern.len()..];
            continue;
        }
        out.push_str(&rest[..at]);
        let args_start = at + pattern.len();
        let close = rest[args_start..].find(')').expect("closing parenthesis") + args_start;
        out.push_str(&f(&rest[args_start..close]));
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}
