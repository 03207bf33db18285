//! The exact evaluation of one topic on one mention, linear in the mention,
//! and the spans that explain a match.
//!
//! ```text
//! hits (atom, token), sorted ──▶ Sequence: bit-parallel phrase automaton over the
//!                                          hits of its atoms (one pass, no rescans)
//!                              ──▶ NEAR:    occurrences sorted by position; one binary
//!                                          search per occurrence decides the pair
//!                              ──▶ spans:   occurrences inside the satisfying stretches
//! every step ─▶ Work (the topic's budget) ─▶ TooExpensive when it is spent
//! ```
//!
//! An *occurrence* is a stretch of word positions (`first..=last`); its bytes
//! come from the tokens' position table, so occurrences compare and sort as
//! two integers.
//!
//! Phrases. A phrase of `m` atoms is a Shift-And automaton: the state after a
//! token is the set of `i` such that atoms `0..=i` match a path of tokens
//! ending with it. Tokens may span several positions (the joined form of
//! `coca-cola`), so the state carried to a token is the union of the states
//! of the tokens ending right before its first position, and a state also
//! records how many extra positions its path covers, which gives each match
//! its first position. Only tokens that hit one of the phrase's atoms are
//! visited: the cost is the phrase's hits × ⌈m / 64⌉, not text words ×
//! phrase length × phrases as a per-candidate rescan costs.
//!
//! NEAR. `a NEAR/n b` exists when, for some occurrence of `a`, the first
//! occurrence of `b` after it starts within `n` words (or, unordered, the
//! last one before it ends within `n` words): a binary search each. The
//! stretches of satisfying pairs, needed only to explain a match or by an
//! enclosing NEAR, are enumerated within the window of each occurrence, so
//! the work is the number of stretches produced, each counted.

use std::sync::Arc;

use super::budget::{TooExpensive, Work};
use super::matcher::{
    Document, FieldTest, Node, Sequence, Span, contains_ignore_case, glob, host_within,
};
use super::tokens::{Token, Tokens, fold};

/// At most this many spans explain one topic's match (the first ones by
/// position): a highlight, not an index of every occurrence.
pub const MAX_SPANS_PER_TOPIC: usize = 1_000;

/// A stretch of word positions of the mention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Occurrence {
    pub(super) first: u32,
    pub(super) last: u32,
}

impl Occurrence {
    fn of(token: &Token) -> Occurrence {
        Occurrence {
            first: token.first_position,
            last: token.last_position,
        }
    }

    fn cover(self, other: Occurrence) -> Occurrence {
        Occurrence {
            first: self.first.min(other.first),
            last: self.last.max(other.last),
        }
    }
}

/// Stretches sorted by first position, answering "is this occurrence inside
/// one of them?" with one binary search.
struct Regions {
    sorted: Vec<Occurrence>,
    /// `reach[i]`: the largest `last` among `sorted[..=i]`.
    reach: Vec<u32>,
}

impl Regions {
    fn new(sorted: Vec<Occurrence>) -> Regions {
        let mut reach = Vec::with_capacity(sorted.len());
        let mut furthest = 0;
        for region in &sorted {
            furthest = furthest.max(region.last);
            reach.push(furthest);
        }
        Regions { sorted, reach }
    }

    fn contains(&self, occurrence: Occurrence) -> bool {
        let before = self
            .sorted
            .partition_point(|region| region.first <= occurrence.first);
        before > 0 && self.reach[before - 1] >= occurrence.last
    }
}

/// The largest `last` over any range of a sorted list of occurrences, in
/// constant time after an `n log n` build (a sparse table).
struct RangeMax {
    levels: Vec<Vec<u32>>,
}

impl RangeMax {
    fn new(occurrences: &[Occurrence]) -> RangeMax {
        let mut levels = vec![occurrences.iter().map(|o| o.last).collect::<Vec<u32>>()];
        let mut width = 1;
        while width * 2 <= occurrences.len() {
            let previous = &levels[levels.len() - 1];
            let next: Vec<u32> = (0..=occurrences.len() - width * 2)
                .map(|start| previous[start].max(previous[start + width]))
                .collect();
            levels.push(next);
            width *= 2;
        }
        RangeMax { levels }
    }

    /// The largest `last` in `start..end` (which must not be empty).
    fn max(&self, start: usize, end: usize) -> u32 {
        let level = (usize::BITS - 1 - (end - start).leading_zeros()) as usize;
        let row = &self.levels[level];
        row[start].max(row[end - (1 << level)])
    }
}

/// Buffers of the evaluation, kept in [`super::MatchScratch`].
#[derive(Debug, Default, Clone)]
pub(super) struct EvalScratch {
    /// Per memo slot of the topic being evaluated, its occurrences once known.
    memo: Vec<Option<Arc<[Occurrence]>>>,
    /// Per memo slot of a phrase, whether it occurs, once known (deciding
    /// needs less than listing its occurrences).
    exists: Vec<Option<bool>>,
    /// (slot, label) of the sequences already explained outside any NEAR:
    /// a phrase written twice is highlighted once.
    explained: Vec<(u32, u32)>,
    /// (token, distinct-atom ordinal) of the sequence being run.
    items: Vec<(u32, u32)>,
    /// Per visited token with a live state: (its last position, its first
    /// and end state index).
    ends: Vec<(u32, u32, u32)>,
    /// Per state: the extra positions its paths cover…
    extras: Vec<u32>,
    /// …and its bits (`words` per state).
    bits: Vec<u64>,
    mask: Vec<u64>,
    /// The states of the token being visited, before merging.
    pending: Vec<(u32, u32)>,
    pending_bits: Vec<u64>,
}

/// One topic's evaluation on one prepared mention.
pub(super) struct Context<'a> {
    tokens: &'a Tokens,
    hits: &'a [(u32, u32)],
    document: &'a Document<'a>,
    host: Option<&'a str>,
    work: Work,
    scratch: &'a mut EvalScratch,
}

impl<'a> Context<'a> {
    pub(super) fn new(
        tokens: &'a Tokens,
        hits: &'a [(u32, u32)],
        document: &'a Document<'a>,
        host: Option<&'a str>,
        work: Work,
        slots: u32,
        scratch: &'a mut EvalScratch,
    ) -> Context<'a> {
        scratch.memo.clear();
        scratch.memo.resize(slots as usize, None);
        scratch.exists.clear();
        scratch.exists.resize(slots as usize, None);
        scratch.explained.clear();
        Context {
            tokens,
            hits,
            document,
            host,
            work,
            scratch,
        }
    }

    pub(super) fn work_used(&self) -> u64 {
        self.work.used()
    }

    /// Whether `root` matches and, if so, the spans that explain it.
    pub(super) fn explain(
        &mut self,
        root: &Node,
        labels: &[String],
    ) -> Result<Option<Vec<Span>>, TooExpensive> {
        let outcome = if self.eval(root)? {
            let mut raw = Vec::new();
            self.collect_spans(root, None, &mut raw)?;
            Some(self.finish_spans(raw, labels)?)
        } else {
            None
        };
        // Drop the memo now: it must not outlive this mention.
        self.scratch.memo.clear();
        Ok(outcome)
    }

    fn atom_hits(&self, atom: u32) -> &'a [(u32, u32)] {
        let hits = self.hits;
        let start = hits.partition_point(|&(id, _)| id < atom);
        let end = start + hits[start..].partition_point(|&(id, _)| id == atom);
        &hits[start..end]
    }

    fn eval(&mut self, node: &Node) -> Result<bool, TooExpensive> {
        self.work.charge(1)?;
        match node {
            Node::Sequence(sequence) => self.sequence_exists(sequence),
            Node::Any { children, .. } => {
                for child in children {
                    if self.eval(child)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Node::All(children) => {
                for child in children {
                    if !self.eval(child)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Node::Not(inner) => Ok(!self.eval(inner)?),
            Node::Near {
                left,
                right,
                distance,
                ordered,
                ..
            } => {
                // Both sides present is cheap to check and usually decides.
                if !self.present(left) || !self.present(right) {
                    return Ok(false);
                }
                let lefts = self.occurrences(left)?;
                let rights = self.occurrences(right)?;
                self.near_exists(&lefts, &rights, *distance, *ordered)
            }
            Node::Field(test) => self.field(test),
            Node::Never => Ok(false),
        }
    }

    /// A necessary condition for a positional node to have occurrences,
    /// checked without positions or allocation.
    fn present(&self, node: &Node) -> bool {
        match node {
            Node::Sequence(sequence) => sequence
                .atoms
                .iter()
                .all(|&atom| !self.atom_hits(atom).is_empty()),
            Node::Any { children, .. } => children.iter().any(|child| self.present(child)),
            Node::Near { left, right, .. } => self.present(left) && self.present(right),
            Node::All(_) | Node::Not(_) | Node::Field(_) | Node::Never => false,
        }
    }

    fn field(&mut self, test: &FieldTest) -> Result<bool, TooExpensive> {
        let document = self.document;
        let mut steps = 0;
        let matched = match test {
            FieldTest::Author(wanted) => document.author.is_some_and(|author| {
                let author = fold(author.trim().trim_start_matches('@'));
                if wanted.contains(['*', '?']) {
                    glob(wanted, &author, &mut steps)
                } else {
                    author == *wanted
                }
            }),
            FieldTest::Site(domain) => self.host.is_some_and(|host| host_within(host, domain)),
            FieldTest::Url(part) => document
                .url
                .is_some_and(|url| contains_ignore_case(url, part)),
            FieldTest::Lang(wanted) => document.lang.is_some_and(|lang| {
                let lang = lang.trim().replace('_', "-").to_ascii_lowercase();
                if wanted.contains('-') {
                    lang == *wanted
                } else {
                    lang.split('-').next() == Some(wanted.as_str())
                }
            }),
            FieldTest::Source(wanted) => document
                .source
                .is_some_and(|source| source.trim().eq_ignore_ascii_case(wanted)),
        };
        self.work.charge(steps)?;
        Ok(matched)
    }

    fn sequence_exists(&mut self, sequence: &Sequence) -> Result<bool, TooExpensive> {
        if let [atom] = *sequence.atoms {
            return Ok(!self.atom_hits(atom).is_empty());
        }
        let slot = sequence.slot as usize;
        if let Some(known) = &self.scratch.memo[slot] {
            return Ok(!known.is_empty());
        }
        if let Some(exists) = self.scratch.exists[slot] {
            return Ok(exists);
        }
        let exists = sequence
            .atoms
            .iter()
            .all(|&atom| !self.atom_hits(atom).is_empty())
            && self.run_sequence(sequence, None)?;
        self.scratch.exists[slot] = Some(exists);
        Ok(exists)
    }

    /// Where a positional node matches, sorted and distinct; non-positional
    /// nodes have none. Memoized per node for the rest of the evaluation.
    fn occurrences(&mut self, node: &Node) -> Result<Arc<[Occurrence]>, TooExpensive> {
        let slot = match node {
            Node::Sequence(sequence) => sequence.slot,
            Node::Any { slot, .. } | Node::Near { slot, .. } => *slot,
            Node::All(_) | Node::Not(_) | Node::Field(_) | Node::Never => return Ok(Arc::from([])),
        };
        if let Some(known) = &self.scratch.memo[slot as usize] {
            return Ok(Arc::clone(known));
        }
        let mut found = Vec::new();
        match node {
            Node::Sequence(sequence) => {
                if let [atom] = *sequence.atoms {
                    let hits = self.atom_hits(atom);
                    self.work.charge(hits.len() as u64)?;
                    found.extend(hits.iter().map(|&(_, token)| {
                        Occurrence::of(&self.tokens.as_slice()[token as usize])
                    }));
                } else if self.present(node) {
                    self.run_sequence(sequence, Some(&mut found))?;
                }
            }
            Node::Any { children, .. } => {
                for child in children {
                    found.extend_from_slice(&self.occurrences(child)?);
                }
            }
            Node::Near {
                left,
                right,
                distance,
                ordered,
                ..
            } => {
                let lefts = self.occurrences(left)?;
                if !lefts.is_empty() {
                    let rights = self.occurrences(right)?;
                    self.near_stretches(&lefts, &rights, *distance, *ordered, &mut found)?;
                }
            }
            Node::All(_) | Node::Not(_) | Node::Field(_) | Node::Never => {}
        }
        self.work.charge_logarithmic(found.len(), found.len())?;
        found.sort_unstable();
        found.dedup();
        let found: Arc<[Occurrence]> = found.into();
        self.scratch.memo[slot as usize] = Some(Arc::clone(&found));
        Ok(found)
    }

    /// The phrase automaton (see the module documentation). With `out`, every
    /// match is pushed to it; without, it stops at the first match. Returns
    /// whether there is one.
    fn run_sequence(
        &mut self,
        sequence: &Sequence,
        mut out: Option<&mut Vec<Occurrence>>,
    ) -> Result<bool, TooExpensive> {
        let length = u32::try_from(sequence.atoms.len()).unwrap_or(u32::MAX);
        let words = sequence.words();
        let final_word = (sequence.atoms.len() - 1) / 64;
        let final_bit = 1_u64 << ((sequence.atoms.len() - 1) % 64);
        // Extra widths matter only for where a match starts.
        let track_extras = out.is_some();
        let tokens = self.tokens.as_slice();
        let scratch = &mut *self.scratch;
        scratch.items.clear();
        for (ordinal, &atom) in sequence.distinct.iter().enumerate() {
            let hits = {
                let hits = self.hits;
                let start = hits.partition_point(|&(id, _)| id < atom);
                let end = start + hits[start..].partition_point(|&(id, _)| id == atom);
                &hits[start..end]
            };
            self.work.charge(1 + hits.len() as u64)?;
            let ordinal = u32::try_from(ordinal).unwrap_or(u32::MAX);
            scratch
                .items
                .extend(hits.iter().map(|&(_, token)| (token, ordinal)));
        }
        self.work
            .charge_logarithmic(scratch.items.len(), scratch.items.len())?;
        scratch.items.sort_unstable();
        scratch.ends.clear();
        scratch.extras.clear();
        scratch.bits.clear();
        let mut found = false;
        let mut index = 0;
        while index < scratch.items.len() {
            let token_index = scratch.items[index].0;
            let token = &tokens[token_index as usize];
            scratch.mask.clear();
            scratch.mask.resize(words, 0);
            while index < scratch.items.len() && scratch.items[index].0 == token_index {
                let ordinal = scratch.items[index].1 as usize;
                let mask = &sequence.masks[ordinal * words..(ordinal + 1) * words];
                for (into, bits) in scratch.mask.iter_mut().zip(mask) {
                    *into |= bits;
                }
                index += 1;
                self.work.charge(words as u64)?;
            }
            let widening = if track_extras {
                token.last_position - token.first_position
            } else {
                0
            };
            scratch.pending.clear();
            scratch.pending_bits.clear();
            // A match may start here…
            if scratch.mask[0] & 1 != 0 {
                scratch.pending.push((widening, 0));
                scratch.pending_bits.push(1);
                scratch
                    .pending_bits
                    .extend(std::iter::repeat_n(0, words - 1));
            }
            // …or continue one that ended right before this token.
            if let Some(wanted) = token.first_position.checked_sub(1) {
                let low = scratch.ends.partition_point(|end| end.0 < wanted);
                let high = low + scratch.ends[low..].partition_point(|end| end.0 == wanted);
                for end in low..high {
                    let (_, first_state, end_state) = scratch.ends[end];
                    self.work
                        .charge(u64::from(end_state - first_state) * words as u64)?;
                    for state in first_state..end_state {
                        let from = state as usize * words;
                        let offset = u32::try_from(scratch.pending_bits.len()).unwrap_or(u32::MAX);
                        let mut carry = 0;
                        let mut live = false;
                        for word in 0..words {
                            let bits = scratch.bits[from + word];
                            let shifted = ((bits << 1) | carry) & scratch.mask[word];
                            carry = bits >> 63;
                            live |= shifted != 0;
                            scratch.pending_bits.push(shifted);
                        }
                        if live {
                            scratch
                                .pending
                                .push((scratch.extras[state as usize] + widening, offset));
                        } else {
                            scratch.pending_bits.truncate(offset as usize);
                        }
                    }
                }
            }
            if scratch.pending.is_empty() {
                continue;
            }
            // One state per distinct extra width.
            self.work
                .charge_logarithmic(scratch.pending.len(), scratch.pending.len())?;
            scratch.pending.sort_unstable();
            let first_state = u32::try_from(scratch.extras.len()).unwrap_or(u32::MAX);
            let mut previous_extra = None;
            for &(extra, offset) in &scratch.pending {
                let extra = if track_extras { extra } else { 0 };
                let source = &scratch.pending_bits[offset as usize..offset as usize + words];
                if previous_extra == Some(extra) {
                    let into = scratch.bits.len() - words;
                    for (word, bits) in source.iter().enumerate() {
                        scratch.bits[into + word] |= bits;
                    }
                } else {
                    scratch.extras.push(extra);
                    scratch.bits.extend_from_slice(source);
                    previous_extra = Some(extra);
                }
            }
            let end_state = u32::try_from(scratch.extras.len()).unwrap_or(u32::MAX);
            scratch
                .ends
                .push((token.last_position, first_state, end_state));
            for state in first_state..end_state {
                if scratch.bits[state as usize * words + final_word] & final_bit == 0 {
                    continue;
                }
                found = true;
                let Some(out) = out.as_deref_mut() else {
                    return Ok(true);
                };
                let covered = length.saturating_add(scratch.extras[state as usize]);
                out.push(Occurrence {
                    first: (token.last_position + 1).saturating_sub(covered),
                    last: token.last_position,
                });
                self.work.charge(1)?;
            }
        }
        Ok(found)
    }

    /// Whether some pair of `lefts` and `rights` is at most `distance` words
    /// apart (`ordered`: left first). Both are sorted by (first, last).
    fn near_exists(
        &mut self,
        lefts: &[Occurrence],
        rights: &[Occurrence],
        distance: u32,
        ordered: bool,
    ) -> Result<bool, TooExpensive> {
        if lefts.is_empty() || rights.is_empty() {
            return Ok(false);
        }
        self.work.charge_logarithmic(lefts.len(), rights.len())?;
        let reach = u64::from(distance) + 1;
        for left in lefts {
            // The right side that starts first after the left one ends.
            let after = rights.partition_point(|right| right.first <= left.last);
            if let Some(right) = rights.get(after)
                && u64::from(right.first) <= u64::from(left.last) + reach
            {
                return Ok(true);
            }
        }
        if ordered {
            return Ok(false);
        }
        let by_last = self.sorted_by_last(rights)?;
        for left in lefts {
            // The right side that ends last before the left one starts.
            let before = by_last.partition_point(|right| right.last < left.first);
            if before > 0 && u64::from(by_last[before - 1].last) + reach >= u64::from(left.first) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn sorted_by_last(
        &mut self,
        occurrences: &[Occurrence],
    ) -> Result<Vec<Occurrence>, TooExpensive> {
        self.work
            .charge_logarithmic(occurrences.len(), occurrences.len())?;
        let mut sorted = occurrences.to_vec();
        sorted.sort_unstable_by_key(|occurrence| (occurrence.last, occurrence.first));
        Ok(sorted)
    }

    /// The stretches (covers) of every satisfying pair, each pair found in
    /// the window of its left occurrence.
    fn near_stretches(
        &mut self,
        lefts: &[Occurrence],
        rights: &[Occurrence],
        distance: u32,
        ordered: bool,
        out: &mut Vec<Occurrence>,
    ) -> Result<(), TooExpensive> {
        if rights.is_empty() {
            return Ok(());
        }
        self.work.charge_logarithmic(lefts.len(), rights.len())?;
        let reach = u64::from(distance) + 1;
        for &left in lefts {
            let after = rights.partition_point(|right| right.first <= left.last);
            for &right in &rights[after..] {
                if u64::from(right.first) > u64::from(left.last) + reach {
                    break;
                }
                self.work.charge(1)?;
                out.push(left.cover(right));
            }
        }
        if ordered {
            return Ok(());
        }
        let by_last = self.sorted_by_last(rights)?;
        for &left in lefts {
            let before = by_last.partition_point(|right| right.last < left.first);
            for &right in by_last[..before].iter().rev() {
                if u64::from(right.last) + reach < u64::from(left.first) {
                    break;
                }
                self.work.charge(1)?;
                out.push(left.cover(right));
            }
        }
        Ok(())
    }

    /// For each occurrence of either side, its widest satisfying stretch,
    /// sorted by first position: an occurrence is inside some satisfying
    /// stretch exactly when it is inside one of these. A stretch starts with
    /// its left side when the right one follows (the widest then ends with
    /// the furthest right occurrence in reach) and with its right side when
    /// that one precedes (and ends with the furthest left occurrence).
    fn widest_stretches(
        &mut self,
        lefts: &[Occurrence],
        rights: &[Occurrence],
        distance: u32,
        ordered: bool,
    ) -> Result<Vec<Occurrence>, TooExpensive> {
        if lefts.is_empty() || rights.is_empty() {
            return Ok(Vec::new());
        }
        self.work
            .charge_logarithmic(lefts.len() + rights.len(), lefts.len() + rights.len())?;
        let reach = u64::from(distance) + 1;
        let mut widest = Vec::new();
        let rights_max = RangeMax::new(rights);
        for left in lefts {
            let start = rights.partition_point(|right| right.first <= left.last);
            let end = rights
                .partition_point(|right| u64::from(right.first) <= u64::from(left.last) + reach);
            if start < end {
                widest.push(Occurrence {
                    first: left.first,
                    last: rights_max.max(start, end).max(left.last),
                });
            }
        }
        if !ordered {
            let lefts_max = RangeMax::new(lefts);
            for right in rights {
                let start = lefts.partition_point(|left| left.first <= right.last);
                let end = lefts
                    .partition_point(|left| u64::from(left.first) <= u64::from(right.last) + reach);
                if start < end {
                    widest.push(Occurrence {
                        first: right.first,
                        last: lefts_max.max(start, end).max(right.last),
                    });
                }
            }
        }
        widest.sort_unstable();
        Ok(widest)
    }

    /// Gathers (label, occurrence) for the positive parts of a matching node.
    /// Inside a NEAR only occurrences within a satisfying pair's stretch count.
    fn collect_spans(
        &mut self,
        node: &Node,
        regions: Option<&Regions>,
        out: &mut Vec<(u32, Occurrence)>,
    ) -> Result<(), TooExpensive> {
        match node {
            Node::Sequence(sequence) => {
                if regions.is_none() {
                    let key = (sequence.slot, sequence.label);
                    self.work
                        .charge(self.scratch.explained.len() as u64 / 8 + 1)?;
                    if self.scratch.explained.contains(&key) {
                        return Ok(());
                    }
                    self.scratch.explained.push(key);
                }
                let occurrences = self.occurrences(node)?;
                self.work.charge_logarithmic(
                    occurrences.len(),
                    regions.map_or(1, |regions| regions.sorted.len()),
                )?;
                for &occurrence in occurrences.iter() {
                    if regions.is_none_or(|regions| regions.contains(occurrence)) {
                        out.push((sequence.label, occurrence));
                    }
                }
            }
            Node::Any { children, .. } => {
                for child in children {
                    if regions.is_some() || self.eval(child)? {
                        self.collect_spans(child, regions, out)?;
                    }
                }
            }
            Node::All(children) => {
                for child in children {
                    self.collect_spans(child, regions, out)?;
                }
            }
            Node::Near {
                left,
                right,
                distance,
                ordered,
                ..
            } if regions.is_none() => {
                // Outside any other NEAR only "is this occurrence inside some
                // satisfying stretch?" matters: the widest stretch of each
                // occurrence answers it, without listing every pair.
                let lefts = self.occurrences(left)?;
                let rights = self.occurrences(right)?;
                let widest = self.widest_stretches(&lefts, &rights, *distance, *ordered)?;
                if !widest.is_empty() {
                    let widest = Regions::new(widest);
                    self.collect_spans(left, Some(&widest), out)?;
                    self.collect_spans(right, Some(&widest), out)?;
                }
            }
            Node::Near { left, right, .. } => {
                let stretches = self.occurrences(node)?;
                self.work.charge_logarithmic(
                    stretches.len(),
                    regions.map_or(1, |regions| regions.sorted.len()),
                )?;
                let satisfied: Vec<Occurrence> = stretches
                    .iter()
                    .copied()
                    .filter(|&stretch| regions.is_none_or(|regions| regions.contains(stretch)))
                    .collect();
                if !satisfied.is_empty() {
                    let satisfied = Regions::new(satisfied);
                    self.collect_spans(left, Some(&satisfied), out)?;
                    self.collect_spans(right, Some(&satisfied), out)?;
                }
            }
            Node::Not(_) | Node::Field(_) | Node::Never => {}
        }
        Ok(())
    }

    /// Byte ranges sorted by position, one per distinct range; a span inside a
    /// wider one of the same term is dropped (a hyphenated term finds both its
    /// parts and its joined form, and the UI wants one highlight); at most
    /// [`MAX_SPANS_PER_TOPIC`].
    fn finish_spans(
        &mut self,
        raw: Vec<(u32, Occurrence)>,
        labels: &[String],
    ) -> Result<Vec<Span>, TooExpensive> {
        self.work.charge_logarithmic(raw.len(), raw.len())?;
        let mut ranges: Vec<(usize, usize, u32)> = raw
            .into_iter()
            .map(|(label, occurrence)| {
                let bytes = self.tokens.stretch_bytes(occurrence.first, occurrence.last);
                (bytes.start, bytes.end, label)
            })
            .collect();
        // Stable: of equal ranges the first found (in query order) is kept.
        ranges.sort_by_key(|&(start, end, _)| (start, end));
        ranges.dedup_by_key(|&mut (start, end, _)| (start, end));
        let mut order: Vec<usize> = (0..ranges.len()).collect();
        order.sort_unstable_by_key(|&index| (ranges[index].0, std::cmp::Reverse(ranges[index].1)));
        let mut reach: Vec<Option<usize>> = vec![None; labels.len()];
        let mut nested = vec![false; ranges.len()];
        for index in order {
            let (_, end, label) = ranges[index];
            let furthest = &mut reach[label as usize];
            // Every earlier span in this order starts at or before this one.
            if furthest.is_some_and(|furthest| furthest >= end) {
                nested[index] = true;
            } else {
                *furthest = Some(furthest.map_or(end, |furthest| furthest.max(end)));
            }
        }
        let mut spans = Vec::new();
        for (index, &(start, end, label)) in ranges.iter().enumerate() {
            if nested[index] {
                continue;
            }
            if spans.len() == MAX_SPANS_PER_TOPIC {
                break;
            }
            let term = &labels[label as usize];
            self.work.charge(1 + term.len() as u64 / 64)?;
            spans.push(Span {
                range: start..end,
                term: term.clone(),
            });
        }
        Ok(spans)
    }
}
