//! `[[stage]]`s: the stages after the first (see [`crate::ops::stages`]), each reading
//! the one before it. The first stage's columns come from the compiled first stage (a
//! window aggregate's `window_start`, `window_end`, group fields and aggregates; a
//! projection's or regular join's columns); each later stage's from the one before.

use crate::ops::column::ColumnSource;
use crate::ops::expr::{Condition, Expr};
use crate::ops::projection::Projection;
use crate::ops::stages::aggregate::{AggregateSpec, StageAgg};
use crate::ops::stages::schema::{Col, Place, Schema, OP_COLUMN};
use crate::ops::stages::top_n::TopNSpec;
use crate::ops::stages::{Computed, FirstStage, Stage, StageOp, Stages};
use crate::query::error::{invalid, QueryError};
use crate::query::spec::{Query, StageKind, StageQuery};
use crate::semantics::aggregate::{AggFn, AggSpec};
use crate::semantics::row::OutputMode;

/// The name the first stage (the query's top-level keys) goes by in `input`.
pub const FIRST: &str = "first";

/// The first stage's columns.
pub(super) fn first_schema(
    query: &Query,
    projection: Option<&Projection>,
    aggregates: &[AggSpec],
) -> (FirstStage, Schema) {
    let mut cols = Vec::new();
    let Some(p) = projection else {
        cols.push(col("window_start", Place::Number(0)));
        cols.push(col("window_end", Place::Number(1)));
        for (k, g) in query.group_by.iter().enumerate() {
            cols.push(col(g, Place::Key(k)));
        }
        for (i, a) in aggregates.iter().enumerate() {
            cols.push(col(&a.name, Place::Number(2 + i)));
        }
        return (FirstStage::Windowed, Schema { cols });
    };
    let mut value = 0;
    for c in &p.columns {
        let place = match c.source {
            ColumnSource::Text(k) => Place::Key(k),
            ColumnSource::TextSlot(_, ty) => Place::Interned(value, ty),
            ColumnSource::Field(_) | ColumnSource::Computed(_) => Place::Number(value),
        };
        if place.value().is_some() {
            value += 1;
        }
        cols.push(col(&c.name, place));
    }
    (FirstStage::Projected, Schema { cols })
}

fn col(name: &str, place: Place) -> Col {
    Col {
        name: name.to_owned(),
        place,
    }
}

/// The later stages, or `None` for a one-stage query.
pub(super) fn compile(
    query: &Query,
    first: FirstStage,
    input: Schema,
) -> Result<Option<Stages>, QueryError> {
    if query.stages.is_empty() {
        return Ok(None);
    }
    if query.output_mode != OutputMode::Update {
        return Err(invalid(
            "output_mode",
            "a query with [[stage]]s prints its last stage's changelog (rows added and taken back): set `update` (append cannot take a row back, as Flink and Spark refuse it too; complete is not built for stages); the first stage then emits a window's rows when it closes",
        ));
    }
    let mut names = vec![FIRST.to_owned()];
    let mut schema = input.clone();
    let mut stages = Vec::new();
    for (i, s) in query.stages.iter().enumerate() {
        let key = format!("stage[{i}]");
        let name = s.name.clone().unwrap_or_else(|| format!("stage{}", i + 1));
        if name.is_empty() || names.contains(&name) {
            return Err(invalid(
                format!("{key}.name"),
                format!("`{name}` is empty or names an earlier stage (`{FIRST}` is the first)"),
            ));
        }
        let before = names
            .last()
            .expect("the first stage is always there")
            .clone();
        if let Some(from) = &s.input {
            if *from != before {
                return Err(invalid(
                    format!("{key}.input"),
                    format!("`{from}` is not the stage before (`{before}`): stages run as a chain, each reading the one before it"),
                ));
            }
        }
        let stage = compile_stage(&key, name.clone(), s, &schema)?;
        schema = stage.output.clone();
        names.push(name);
        stages.push(stage);
    }
    Ok(Some(Stages {
        first,
        input,
        stages,
    }))
}

/// A value position of a column the expression may read (numbers only).
fn number(schema: &Schema, key: &str, name: &str) -> Result<usize, QueryError> {
    match schema.find(name).map(|c| c.place) {
        Some(Place::Number(v)) => Ok(v),
        Some(_) => Err(invalid(key, format!("column `{name}` is not a number"))),
        None => Err(invalid(
            key,
            format!(
                "no column `{name}` in the stage's input ({})",
                names(schema)
            ),
        )),
    }
}

fn names(schema: &Schema) -> String {
    schema
        .cols
        .iter()
        .map(|c| format!("`{}`", c.name))
        .collect::<Vec<_>>()
        .join(", ")
}

fn compile_stage(
    key: &str,
    name: String,
    s: &StageQuery,
    input: &Schema,
) -> Result<Stage, QueryError> {
    let mut schema = input.clone();
    let mut computed = Vec::new();
    for (j, c) in s.computed.iter().enumerate() {
        let k = format!("{key}.compute[{j}]");
        if c.name.is_empty() || schema.find(&c.name).is_some() || c.name == OP_COLUMN {
            return Err(invalid(
                format!("{k}.as"),
                format!("`{}` is empty or names another column", c.name),
            ));
        }
        let mut expr = Expr::parse(&c.expr).map_err(|e| invalid(format!("{k}.expr"), e))?;
        expr.resolve(&mut |f| number(&schema, &format!("{k}.expr"), f))?;
        let v = schema.values();
        schema.cols.push(col(&c.name, Place::Number(v)));
        computed.push(Computed {
            name: c.name.clone(),
            expr,
        });
    }
    let mut filter = Vec::new();
    for (j, text) in s.filter.iter().enumerate() {
        let k = format!("{key}.filter[{j}]");
        let mut c = Condition::parse(text).map_err(|e| invalid(k.clone(), e))?;
        c.resolve(&mut |f| number(&schema, &k, f))?;
        filter.push(c);
    }
    let refuse = |present: bool, what: &str| {
        if present {
            Err(invalid(
                format!("{key}.{what}"),
                format!("not a key of a `{}` stage", kind_name(s.kind)),
            ))
        } else {
            Ok(())
        }
    };
    let (op, output) = match s.kind {
        StageKind::Aggregate => {
            refuse(!s.partition_by.is_empty(), "partition_by")?;
            refuse(!s.order_by.is_empty(), "order_by")?;
            refuse(s.n.is_some(), "n")?;
            refuse(s.rank.is_some(), "rank")?;
            aggregate(key, s, &schema)?
        }
        StageKind::TopN => {
            refuse(!s.group_by.is_empty(), "group_by")?;
            refuse(!s.aggregates.is_empty(), "aggregate")?;
            top_n(key, s, &schema)?
        }
    };
    Ok(Stage {
        name,
        computed,
        filter,
        op,
        output,
    })
}

fn kind_name(kind: StageKind) -> &'static str {
    match kind {
        StageKind::Aggregate => "aggregate",
        StageKind::TopN => "top_n",
    }
}

/// The value positions of grouping columns, and whether they take the first stage's key
/// (then all of its columns: the key travels whole).
fn grouping(
    key: &str,
    cols: &[String],
    schema: &Schema,
) -> Result<(Vec<(String, Place)>, bool), QueryError> {
    let mut out = Vec::new();
    for (i, name) in cols.iter().enumerate() {
        if cols[..i].contains(name) {
            return Err(invalid(key, format!("`{name}` is listed twice")));
        }
        let c = schema.find(name).ok_or_else(|| {
            invalid(
                key,
                format!(
                    "no column `{name}` in the stage's input ({})",
                    names(schema)
                ),
            )
        })?;
        out.push((name.clone(), c.place));
    }
    let keyed: Vec<&Col> = schema
        .cols
        .iter()
        .filter(|c| matches!(c.place, Place::Key(_)))
        .collect();
    let taken = out
        .iter()
        .filter(|(_, p)| matches!(p, Place::Key(_)))
        .count();
    if taken > 0 && taken < keyed.len() {
        return Err(invalid(
            key,
            format!(
                "the first stage's text columns ({}) travel as one interned key: group or partition by all of them or none",
                keyed.iter().map(|c| format!("`{}`", c.name)).collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    Ok((out, taken > 0))
}

fn aggregate(key: &str, s: &StageQuery, schema: &Schema) -> Result<(StageOp, Schema), QueryError> {
    if s.aggregates.is_empty() {
        return Err(invalid(
            format!("{key}.aggregate"),
            "at least one [[stage.aggregate]] is required",
        ));
    }
    let (group, key_in_group) = grouping(&format!("{key}.group_by"), &s.group_by, schema)?;
    let mut out = Schema::default();
    let mut positions = Vec::new();
    for (name, place) in &group {
        let place = match *place {
            Place::Number(v) => {
                positions.push(v);
                Place::Number(positions.len() - 1)
            }
            Place::Interned(v, ty) => {
                positions.push(v);
                Place::Interned(positions.len() - 1, ty)
            }
            Place::Key(k) => Place::Key(k),
        };
        out.cols.push(col(name, place));
    }
    let mut aggs = Vec::new();
    for (j, a) in s.aggregates.iter().enumerate() {
        let k = format!("{key}.aggregate[{j}]");
        if a.name.is_empty() || out.find(&a.name).is_some() || a.name == OP_COLUMN {
            return Err(invalid(
                format!("{k}.as"),
                format!("`{}` is empty or names another column", a.name),
            ));
        }
        let input = match (a.func, &a.field) {
            (AggFn::CountDistinct, _) => return Err(invalid(
                format!("{k}.fn"),
                "count_distinct is not built for stages yet (it needs a count per value per group)",
            )),
            (AggFn::Count, None) => None,
            (_, None) => return Err(invalid(format!("{k}.field"), "required for this function")),
            (_, Some(f)) => Some(number(schema, &format!("{k}.field"), f)?),
        };
        let condition = match &a.condition {
            None => None,
            Some(text) => {
                let mut c = Condition::parse(text).map_err(|e| invalid(format!("{k}.where"), e))?;
                c.resolve(&mut |f| number(schema, &format!("{k}.where"), f))?;
                Some(c)
            }
        };
        out.cols.push(col(
            &a.name,
            Place::Number(group.iter().filter(|(_, p)| p.value().is_some()).count() + j),
        ));
        aggs.push(StageAgg {
            func: a.func,
            input,
            name: a.name.clone(),
            condition,
        });
    }
    Ok((
        StageOp::Aggregate(AggregateSpec {
            group: positions,
            key_in_group,
            aggs,
        }),
        out,
    ))
}

fn top_n(key: &str, s: &StageQuery, schema: &Schema) -> Result<(StageOp, Schema), QueryError> {
    let n = match s.n {
        Some(n) if n >= 1 => n as usize,
        _ => {
            return Err(invalid(
                format!("{key}.n"),
                "required: how many rows each partition keeps (1 or more)",
            ))
        }
    };
    let (partition, key_in_partition) =
        grouping(&format!("{key}.partition_by"), &s.partition_by, schema)?;
    if s.order_by.is_empty() {
        return Err(invalid(
            format!("{key}.order_by"),
            "required: the columns that rank a partition's rows",
        ));
    }
    let mut order = Vec::new();
    for (j, o) in s.order_by.iter().enumerate() {
        let k = format!("{key}.order_by[{j}]");
        let mut words = o.split_whitespace();
        let name = words.next().unwrap_or("");
        let desc = match words.next().map(str::to_ascii_lowercase).as_deref() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(w) => return Err(invalid(k, format!("`{w}` is neither `asc` nor `desc`"))),
        };
        if words.next().is_some() {
            return Err(invalid(k, "write `column`, `column asc` or `column desc`"));
        }
        order.push((number(schema, &k, name)?, desc));
    }
    let mut out = schema.clone();
    if let Some(r) = &s.rank {
        if r.is_empty() || out.find(r).is_some() || r == OP_COLUMN {
            return Err(invalid(
                format!("{key}.rank"),
                format!("`{r}` is empty or names another column"),
            ));
        }
        let v = out.values();
        out.cols.push(col(r, Place::Number(v)));
    }
    Ok((
        StageOp::TopN(TopNSpec {
            partition: partition.iter().filter_map(|(_, p)| p.value()).collect(),
            key_in_partition,
            order,
            n,
            rank: s.rank.is_some(),
        }),
        out,
    ))
}
