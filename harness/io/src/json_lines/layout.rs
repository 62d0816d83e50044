//! A [`Layout`]: which fields of a line one input reads, and what each is used as
//! (event time, group key, slot, a projection's text column, a joined table's column, an
//! input's own filter).

use smallvec::SmallVec;
use streamlab_core::model::event::SlotType;
use streamlab_core::ops::filter::Predicate;
use streamlab_core::query::Plan;

/// How an input field is used; one field may have several uses.
#[derive(Clone, Copy, Debug)]
pub(super) enum Use {
    Time,
    Group(usize),
    /// A projection's string or boolean column: part of the key, of a declared type.
    Text(usize, SlotType),
    Slot(usize, SlotType),
}

/// The fields a line is read for, and what each one is used as.
pub(super) struct Layout {
    pub(super) names: Vec<Box<str>>,
    /// The indexes in `names` of the fields this input reads (the others are other
    /// inputs' fields of a shared name list, see [`Layout::unified`]), in its order.
    pub(super) required: Vec<usize>,
    pub(super) uses: Vec<SmallVec<[Use; 2]>>,
    /// With a stream-static join: which names are columns of the table (taken from the
    /// joined row, not the line), and which name is the `on` field.
    pub(super) from_table: Vec<Option<usize>>,
    pub(super) on: Option<usize>,
    /// The input's own filters (`[[input.filter]]`), each with the index of its field in
    /// `names` and the field's type; and the input's name for the error.
    pub(super) filters: Vec<(usize, Predicate, SlotType)>,
    pub(super) name: Box<str>,
}

impl Layout {
    /// The layout of the plan's input number `input` (`None`: the one input of a plan
    /// without `[[input]]`s).
    pub(super) fn new(plan: &Plan, input: Option<usize>) -> Layout {
        let spec = input.map(|i| &plan.inputs[i]);
        let time_field = match spec {
            Some(spec) => spec.time_field.as_deref(),
            None => plan.event_time_field(),
        };
        let group_by = spec.map_or(plan.group_by(), |s| &s.group_by[..]);
        let mut names: Vec<Box<str>> = Vec::new();
        let mut uses: Vec<SmallVec<[Use; 2]>> = Vec::new();
        let mut add = |name: &str, u: Use| match names.iter().position(|n| **n == *name) {
            Some(i) => uses[i].push(u),
            None => {
                names.push(name.into());
                uses.push(smallvec::smallvec![u]);
            }
        };
        // Read the event time whenever the plan names it: processing-time plans still
        // need it for the exact (event-time) answer they are measured against.
        if let Some(f) = time_field {
            add(f, Use::Time);
        }
        for (i, g) in group_by.iter().enumerate() {
            add(g, Use::Group(i));
        }
        if let Some(p) = &plan.projection {
            for (i, (f, ty)) in p.text.iter().enumerate() {
                add(f, Use::Text(i, *ty));
            }
        }
        for (i, s) in plan.slots.iter().enumerate() {
            // A slot of another input stays unread (its default value is never used).
            if s.input.is_none_or(|p| Some(usize::from(p)) == input) {
                add(&s.field, Use::Slot(i, s.ty));
            }
        }
        let (mut from_table, mut on) = (vec![None; names.len()], None);
        if let Some(table) = &plan.table {
            let t = &table.0;
            on = Some(match names.iter().position(|n| **n == *t.on()) {
                Some(i) => i,
                None => {
                    names.push(t.on().into());
                    uses.push(SmallVec::new());
                    from_table.push(None);
                    names.len() - 1
                }
            });
            for (i, n) in names.iter().enumerate() {
                if **n != *t.on() {
                    from_table[i] = t.column(n);
                }
            }
        }
        let filters = spec
            .map(|s| {
                s.filters
                    .iter()
                    .map(|p| {
                        let slot = &plan.slots[p.slot];
                        let at = names
                            .iter()
                            .position(|n| **n == *slot.field)
                            .expect("an input's filter slots are in its layout");
                        (at, p.clone(), slot.ty)
                    })
                    .collect()
            })
            .unwrap_or_default();
        Layout {
            required: (0..names.len()).collect(),
            names,
            uses,
            from_table,
            on,
            filters,
            name: spec.map_or("", |s| &s.name).into(),
        }
    }
}

impl Layout {
    /// The inputs' layouts over one list of names, the union of theirs (each input uses
    /// its own and requires only those): a line of a file several inputs read is then
    /// parsed once for all of them ([`Decoder::decode_shared`](super::Decoder::decode_shared)).
    pub(super) fn unified(layouts: Vec<Layout>) -> Vec<Layout> {
        let mut names: Vec<Box<str>> = Vec::new();
        for l in &layouts {
            for n in &l.names {
                if !names.contains(n) {
                    names.push(n.clone());
                }
            }
        }
        layouts
            .into_iter()
            .map(|l| {
                let at = |n: &str| names.iter().position(|u| **u == *n).expect("in the union");
                let mut uses = vec![SmallVec::new(); names.len()];
                let mut from_table = vec![None; names.len()];
                for (i, n) in l.names.iter().enumerate() {
                    uses[at(n)] = l.uses[i].clone();
                    from_table[at(n)] = l.from_table[i];
                }
                Layout {
                    on: l.on.map(|i| at(&l.names[i])),
                    filters: l
                        .filters
                        .iter()
                        .map(|(i, p, ty)| (at(&l.names[*i]), p.clone(), *ty))
                        .collect(),
                    required: l.names.iter().map(|n| at(n)).collect(),
                    names: names.clone(),
                    uses,
                    from_table,
                    name: l.name,
                }
            })
            .collect()
    }
}
