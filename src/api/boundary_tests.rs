//! Names across the language boundary. The extension's PL/pgSQL runs Rust entry points by name
//! (the trigger wrappers of sql/triggers.sql, the feed and the journal), and PostgreSQL resolves
//! such a call only when it runs: a Rust function renamed, or given another argument list,
//! builds and installs, and the next block fails. This test reads every PL/pgSQL and SQL body
//! of the installed extension and checks that each call of a function of schema `evp`, or of
//! an `evp_*` function, names a function of the extension that takes that many arguments.

/// The calls in a function body: each `evp.name(…)` or `evp_name(…)`, with its argument count.
/// Relation names followed by a column list are found too: the caller filters them by name.
fn calls_in(body: &str) -> Vec<(String, usize)> {
    let bytes = body.as_bytes();
    let mut calls = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        // String literals (messages, hints, format() templates) and comments name functions
        // in prose or build dynamic SQL: neither is a call of the body.
        if bytes[i] == b'\'' {
            i += 1 + body[i + 1..].find('\'').map_or(body.len(), |end| end + 1);
            continue;
        }
        if body[i..].starts_with("--") {
            i += body[i..].find('\n').unwrap_or(body.len() - i);
            continue;
        }
        let starts_word = i == 0 || !is_ident(bytes[i - 1]);
        let (prefix, skip) = if body[i..].starts_with("evp.") {
            ("", 4)
        } else if body[i..].starts_with("evp_") {
            ("evp_", 4)
        } else {
            i += 1;
            continue;
        };
        if !starts_word {
            i += 1;
            continue;
        }
        let start = i + skip;
        let mut end = start;
        while end < bytes.len() && is_ident(bytes[end]) {
            end += 1;
        }
        let mut open = end;
        while open < bytes.len() && bytes[open] == b' ' {
            open += 1;
        }
        if end > start && open < bytes.len() && bytes[open] == b'(' {
            let name = format!("{prefix}{}", &body[start..end]);
            calls.push((name, arguments(&body[open + 1..])));
        }
        i = end.max(i + 1);
    }
    calls
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The number of arguments of a call whose text starts after its opening parenthesis: commas at
/// depth 0 until the closing one, ignoring those in parentheses, brackets and quotes.
fn arguments(rest: &str) -> usize {
    let (mut depth, mut commas, mut quoted, mut empty) = (0usize, 0, false, true);
    for c in rest.chars() {
        match c {
            '\'' => quoted = !quoted,
            _ if quoted => {}
            '(' | '[' => depth += 1,
            ')' | ']' if depth > 0 => depth -= 1,
            ')' => break,
            ',' if depth == 0 => commas += 1,
            _ => {}
        }
        if !c.is_whitespace() {
            empty = false;
        }
    }
    if empty && commas == 0 {
        0
    } else {
        commas + 1
    }
}

#[test]
fn finds_calls_and_counts_their_arguments() {
    let body = "PERFORM evp.blocks_inserted(array_agg(n.block_number)) FROM new_blocks n;
        PERFORM evp.note_reverted(OLD.block_number, OLD.block_hash, false);
        SELECT evp_catchup(), evp.enabled('evp.a,b'), coalesce(x, evp.normalize_felt(y)); -- evp.no()
        RAISE 'see evp_no() and it''s evp.no(1)' USING HINT = 'evp_nor()';
        INSERT INTO evp.blocks (a, b) VALUES (1, 2); EXECUTE format('evp.%I()', t);
        SELECT nextval('evp.changes_position'), ARRAY[evp.setting('x'), 'y'];
        SELECT my_evp.f(1), evp.f  (1, 2)";
    let calls = calls_in(body);
    let expected = [
        ("blocks_inserted", 1),
        ("note_reverted", 3),
        ("evp_catchup", 0),
        ("enabled", 1),
        ("normalize_felt", 1),
        ("blocks", 2),
        ("setting", 1),
        ("f", 2),
    ];
    let found: Vec<(&str, usize)> = calls.iter().map(|(n, a)| (n.as_str(), *a)).collect();
    assert_eq!(found, expected);
}

#[pgrx::pg_schema]
mod tests {
    use super::calls_in;
    use pgrx::prelude::*;

    /// The functions of the extension: name (without its schema, as `calls_in` reports it),
    /// fewest and most arguments.
    const FUNCTIONS: &str = "
        SELECT p.proname::text AS name, (p.pronargs - p.pronargdefaults)::int8 AS fewest,
               p.pronargs::int8 AS most
          FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
         WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'event_processor')";

    /// The bodies of the extension's functions written in PL/pgSQL or SQL.
    const BODIES: &str = "
        SELECT p.oid::regprocedure::text AS function, p.prosrc AS body
          FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
          JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
         WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'event_processor')
           AND l.lanname IN ('plpgsql', 'sql')";

    /// Names of schema evp that are relations, not functions (`INSERT INTO evp.blocks (…)`).
    const RELATIONS: &str =
        "SELECT relname::text AS name FROM pg_class WHERE relnamespace = 'evp'::regnamespace";

    #[pg_test]
    fn every_call_from_sql_reaches_a_function_of_the_extension() {
        let (functions, bodies, relations) = Spi::connect(|client| {
            let functions: Vec<(String, i64, i64)> = client
                .select(FUNCTIONS, None, &[])?
                .map(|r| {
                    Ok((
                        r.get_by_name::<String, _>("name")?.unwrap_or_default(),
                        r.get_by_name::<i64, _>("fewest")?.unwrap_or_default(),
                        r.get_by_name::<i64, _>("most")?.unwrap_or_default(),
                    ))
                })
                .collect::<Result<_, pgrx::spi::SpiError>>()?;
            let bodies: Vec<(String, String)> = client
                .select(BODIES, None, &[])?
                .map(|r| {
                    Ok((
                        r.get_by_name::<String, _>("function")?.unwrap_or_default(),
                        r.get_by_name::<String, _>("body")?.unwrap_or_default(),
                    ))
                })
                .collect::<Result<_, pgrx::spi::SpiError>>()?;
            let relations: Vec<String> = client
                .select(RELATIONS, None, &[])?
                .map(|r| {
                    r.get_by_name::<String, _>("name")
                        .map(Option::unwrap_or_default)
                })
                .collect::<Result<_, _>>()?;
            Ok::<_, pgrx::spi::SpiError>((functions, bodies, relations))
        })
        .expect("the catalog reads");
        let mut checked = 0;
        let mut wrong = Vec::new();
        for (function, body) in &bodies {
            for (name, args) in calls_in(body) {
                if relations.contains(&name) {
                    continue;
                }
                checked += 1;
                let args = args as i64;
                if !functions
                    .iter()
                    .any(|(n, fewest, most)| *n == name && (*fewest..=*most).contains(&args))
                {
                    wrong.push(format!("{function} calls {name} with {args} arguments"));
                }
            }
        }
        assert!(wrong.is_empty(), "calls that reach no function: {wrong:#?}");
        // The scan found the trigger wrappers' calls, or it checked nothing.
        assert!(checked > 50, "only {checked} calls found");
    }
}
