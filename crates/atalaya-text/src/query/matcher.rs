//! Compiling all topics of a workspace into one [`QuerySet`] and matching
//! mentions against it, with the spans that explain each match.
//!
//! ```text
//! topics ──compile──▶ atoms (distinct folded terms) + one node tree per topic
//!                     literal index  folded term   → atoms
//!                     prefix index   literal prefix → wildcard atoms
//!                     triggers       atom          → (topic, required groups it satisfies)
//! mention ─first 20,000 characters─▶ tokenize once─▶ hits (atom, token) ─▶ candidate topics
//!         ─▶ exact evaluation, each topic within its work budget ─▶ spans (or "too expensive")
//! ```
//!
//! Each topic has up to eight *required groups*: sets of atoms such that any
//! match needs at least one atom of every group (`"precio alto"` needs `precio`
//! and `alto`; `(a OR b) NEAR/2 c` needs one of `a`, `b` and also `c`). A topic
//! is evaluated only when all its groups are satisfied by the mention's words,
//! or always when it can match without any word (pure negations and field
//! filters), so the cost per mention grows with the words in the mention, not
//! with the number of topics.
//!
//! The exact evaluation (in `evaluate.rs`) is linear in the mention: phrases
//! run as a bit-parallel automaton over the hits of their words, `NEAR` is
//! decided by a binary search per occurrence, and every step is counted
//! against the topic's work budget ([`MatchLimits`]). A topic that runs out is
//! reported in [`Matches::too_expensive`], never silently dropped.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Range;

use unicode_normalization::UnicodeNormalization;

use super::ast::{Field, Query};
use super::budget::{MatchLimits, Work};
use super::evaluate::{Context, EvalScratch};
use super::tokens::{Token, TokenKind, Tokens, fold, is_connector, is_word_char};

/// A mention as the matcher sees it. Only `text` is tokenized; the other
/// fields serve the `author:`, `site:`/`url:`, `lang:` and `source:` filters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Document<'a> {
    pub text: &'a str,
    pub author: Option<&'a str>,
    pub url: Option<&'a str>,
    pub lang: Option<&'a str>,
    pub source: Option<&'a str>,
}

impl<'a> Document<'a> {
    /// A document with text only.
    pub fn new(text: &'a str) -> Document<'a> {
        Document {
            text,
            ..Document::default()
        }
    }
}

/// One piece of evidence: the bytes of the mention that a query term matched.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Span {
    /// Byte range into [`Document::text`].
    pub range: Range<usize>,
    /// The query term or phrase that matched there, in canonical form.
    pub term: String,
}

/// A topic that matched, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicMatch<K> {
    pub key: K,
    /// Sorted by position, one per distinct range. Empty when the topic matched
    /// on negations or field filters alone.
    pub spans: Vec<Span>,
}

/// What matching one mention found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matches<K> {
    /// The topics that match, in compile order, with their spans.
    pub found: Vec<TopicMatch<K>>,
    /// Topics whose evaluation ran out of work budget on this mention, in
    /// compile order: they are neither matched nor known not to match.
    pub too_expensive: Vec<K>,
    /// Work units spent on this mention: the shared steps (tokens, hits) and
    /// every evaluated topic. Each topic's part is within its budget.
    pub work: u64,
    /// The part of `work` shared by all topics: tokenizing the text and
    /// finding the hits of every term (linear in the text for given topics).
    pub shared_work: u64,
    /// Bytes of the text that were matched: the whole text, or the prefix of
    /// [`MatchLimits::analysed_chars`] characters.
    pub analysed_bytes: usize,
}

impl<K> Matches<K> {
    /// No topic matched (expensive ones did not either).
    pub fn is_empty(&self) -> bool {
        self.found.is_empty()
    }
}

/// Buffers reused from one mention to the next; keep one per thread.
#[derive(Debug, Default, Clone)]
pub struct MatchScratch {
    tokens: Tokens,
    hits: Vec<(u32, u32)>,
    candidates: Vec<u32>,
    /// Per topic, the required groups satisfied so far by this mention.
    satisfied: Vec<u8>,
    touched: Vec<u32>,
    eval: EvalScratch,
}

impl MatchScratch {
    pub fn new() -> MatchScratch {
        MatchScratch::default()
    }
}

/// The compiled topics of a workspace.
#[derive(Debug, Clone)]
pub struct QuerySet<K> {
    topics: Vec<Topic<K>>,
    atoms: Vec<Atom>,
    literal: FastMap<Box<str>, Vec<u32>>,
    /// First two bytes of the keys of `literal`, to skip hashing most tokens.
    literal_heads: HeadSet,
    prefixed: FastMap<Box<str>, Vec<u32>>,
    /// Distinct byte lengths of the keys of `prefixed`, ascending.
    prefix_lengths: Vec<usize>,
    /// Which first two bytes the keys of `prefixed` start with: most tokens
    /// start differently and skip the prefix lookups altogether.
    prefix_heads: HeadSet,
    /// Wildcard atoms without a literal prefix (`*ción`): tried on every token.
    unanchored: Vec<u32>,
    /// Atom id → topics to evaluate when it occurs.
    triggers: Vec<Vec<(u32, u8)>>,
    /// Per topic, the mask of all its required groups.
    required: Vec<u8>,
    /// Topics that can match without any of their words being present.
    always: Vec<u32>,
    limits: MatchLimits,
}

#[derive(Debug, Clone)]
struct Topic<K> {
    key: K,
    root: Node,
    labels: Vec<String>,
    /// Memo slots of its positional nodes (see [`Node`]).
    slots: u32,
}

/// Which token kinds an atom accepts: a plain term also finds `#term` and
/// `@term` (a mention of the brand's handle is a mention of the brand), while
/// `#term` and `@term` find only their own kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum AtomKind {
    Any,
    Hashtag,
    Handle,
}

/// One token-level test: a folded pattern, optionally with wildcards and an
/// exact (unfolded, NFC) form that must also match.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct Atom {
    kind: AtomKind,
    folded: Box<str>,
    exact: Option<Box<str>>,
    wildcard: bool,
}

/// A topic's query, compiled. Positional nodes (sequences, OR groups and
/// NEARs) have a `slot`: the index where one evaluation memoizes their
/// occurrences, so a node evaluated and then explained is computed once.
#[derive(Debug, Clone)]
pub(super) enum Node {
    /// Atoms on consecutive positions (a single atom for a simple term).
    Sequence(Sequence),
    Any {
        children: Box<[Node]>,
        slot: u32,
    },
    All(Box<[Node]>),
    Not(Box<Node>),
    Near {
        left: Box<Node>,
        right: Box<Node>,
        distance: u32,
        ordered: bool,
        slot: u32,
    },
    Field(FieldTest),
    /// A term with nothing matchable in it (only built by hand-made trees).
    Never,
}

/// A term or a phrase: atoms that must occur on consecutive positions.
#[derive(Debug, Clone)]
pub(super) struct Sequence {
    pub(super) atoms: Box<[u32]>,
    pub(super) label: u32,
    pub(super) slot: u32,
    /// The sequence's distinct atoms…
    pub(super) distinct: Box<[u32]>,
    /// …and for each, the bitset of the indices where it stands in `atoms`
    /// (`words()` 64-bit words per atom): the phrase automaton's input.
    pub(super) masks: Box<[u64]>,
}

impl Sequence {
    fn new(atoms: Box<[u32]>, label: u32, slot: u32) -> Sequence {
        let words = atoms.len().div_ceil(64);
        let mut distinct: Vec<u32> = atoms.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        let mut masks = vec![0_u64; distinct.len() * words];
        for (index, atom) in atoms.iter().enumerate() {
            let ordinal = distinct.partition_point(|other| other < atom);
            masks[ordinal * words + index / 64] |= 1 << (index % 64);
        }
        Sequence {
            atoms,
            label,
            slot,
            distinct: distinct.into(),
            masks: masks.into(),
        }
    }

    /// 64-bit words per automaton state.
    pub(super) fn words(&self) -> usize {
        self.atoms.len().div_ceil(64)
    }
}

#[derive(Debug, Clone)]
pub(super) enum FieldTest {
    Author(String),
    Site(String),
    Url(String),
    Lang(String),
    Source(String),
}

impl<K: Copy> QuerySet<K> {
    /// Compiles every topic's query once; matching then shares the work.
    pub fn compile<I: IntoIterator<Item = (K, Query)>>(topics: I) -> QuerySet<K> {
        let mut builder = Builder::default();
        let mut compiled = Vec::new();
        for (key, query) in topics {
            let mut shape = TopicShape::default();
            let root = builder.node(&query, &mut shape);
            compiled.push(Topic {
                key,
                root,
                labels: shape.labels,
                slots: shape.slots,
            });
        }
        let mut triggers: Vec<Vec<(u32, u8)>> = vec![Vec::new(); builder.atoms.len()];
        let mut required = Vec::with_capacity(compiled.len());
        let mut always = Vec::new();
        for (index, topic) in compiled.iter().enumerate() {
            let topic_index = u32::try_from(index).unwrap_or(u32::MAX);
            let groups = required_groups(&topic.root, &builder.atoms).unwrap_or_default();
            if groups.is_empty() {
                always.push(topic_index);
                required.push(0);
                continue;
            }
            let mut mask = 0_u8;
            for (bit, group) in groups.iter().enumerate() {
                let bit = 1_u8 << bit;
                mask |= bit;
                for &atom in &group.atoms {
                    let list = &mut triggers[atom as usize];
                    match list.last_mut() {
                        Some((topic, bits)) if *topic == topic_index => *bits |= bit,
                        _ => list.push((topic_index, bit)),
                    }
                }
            }
            required.push(mask);
        }
        let mut literal: FastMap<Box<str>, Vec<u32>> = FastMap::default();
        let mut prefixed: FastMap<Box<str>, Vec<u32>> = FastMap::default();
        let mut unanchored = Vec::new();
        for (index, atom) in builder.atoms.iter().enumerate() {
            let id = u32::try_from(index).unwrap_or(u32::MAX);
            if !atom.wildcard {
                literal.entry(atom.folded.clone()).or_default().push(id);
                continue;
            }
            let prefix_end = atom.folded.find(['*', '?']).unwrap_or(atom.folded.len());
            if prefix_end == 0 {
                unanchored.push(id);
            } else {
                prefixed
                    .entry(atom.folded[..prefix_end].into())
                    .or_default()
                    .push(id);
            }
        }
        let mut prefix_lengths: Vec<usize> = prefixed.keys().map(|key| key.len()).collect();
        prefix_lengths.sort_unstable();
        prefix_lengths.dedup();
        let mut literal_heads = HeadSet::default();
        for key in literal.keys() {
            literal_heads.insert_exact(key);
        }
        let mut prefix_heads = HeadSet::default();
        for key in prefixed.keys() {
            prefix_heads.insert(key);
        }
        QuerySet {
            topics: compiled,
            atoms: builder.atoms,
            literal,
            literal_heads,
            prefixed,
            prefix_lengths,
            prefix_heads,
            unanchored,
            triggers,
            required,
            always,
            limits: MatchLimits::DEFAULT,
        }
    }

    /// The same topics with other limits (tests and benchmarks measure work
    /// with [`MatchLimits::UNMETERED`]).
    #[must_use]
    pub fn with_limits(mut self, limits: MatchLimits) -> QuerySet<K> {
        self.limits = limits;
        self
    }

    pub fn limits(&self) -> MatchLimits {
        self.limits
    }

    /// How many topics were compiled.
    pub fn len(&self) -> usize {
        self.topics.len()
    }

    pub fn is_empty(&self) -> bool {
        self.topics.is_empty()
    }

    /// The topics `document` matches, in compile order, with their spans.
    pub fn matches(&self, document: &Document<'_>) -> Matches<K> {
        self.matches_with(document, &mut MatchScratch::default())
    }

    /// Like [`QuerySet::matches`], reusing `scratch`'s buffers: the form to
    /// use in a loop over many mentions.
    pub fn matches_with(&self, document: &Document<'_>, scratch: &mut MatchScratch) -> Matches<K> {
        let (text, chars) = analysed_prefix(document.text, self.limits.analysed_chars);
        let document = Document { text, ..*document };
        scratch.tokens.tokenize(text);
        let mut work = u64::try_from(scratch.tokens.as_slice().len()).unwrap_or(u64::MAX);
        work = work.saturating_add(self.collect_hits(text, &scratch.tokens, &mut scratch.hits));
        self.collect_candidates(scratch);
        let candidates = std::mem::take(&mut scratch.candidates);
        let mut found = self.evaluate(&document, scratch, &candidates, chars);
        scratch.candidates = candidates;
        found.work = found.work.saturating_add(work);
        found.shared_work = work;
        found
    }

    /// Evaluates `candidates` exactly on the mention prepared in `scratch`
    /// (whose text is `document.text`, `chars` characters long).
    fn evaluate(
        &self,
        document: &Document<'_>,
        scratch: &mut MatchScratch,
        candidates: &[u32],
        chars: usize,
    ) -> Matches<K> {
        let host = document.url.and_then(url_host);
        let mut found = Vec::new();
        let mut too_expensive = Vec::new();
        let mut work = 0_u64;
        for &topic_index in candidates {
            let topic = &self.topics[topic_index as usize];
            let mut context = Context::new(
                &scratch.tokens,
                &scratch.hits,
                document,
                host,
                Work::new(self.limits.work_limit(chars), chars),
                topic.slots,
                &mut scratch.eval,
            );
            let outcome = context.explain(&topic.root, &topic.labels);
            work = work.saturating_add(context.work_used());
            match outcome {
                Ok(Some(spans)) => found.push(TopicMatch {
                    key: topic.key,
                    spans,
                }),
                Ok(None) => {}
                Err(_) => too_expensive.push(topic.key),
            }
        }
        Matches {
            found,
            too_expensive,
            work,
            shared_work: 0,
            analysed_bytes: document.text.len(),
        }
    }

    /// Finds every (atom, token) pair, sorted by atom then token, and returns
    /// the work it took.
    fn collect_hits(&self, text: &str, tokens: &Tokens, hits: &mut Vec<(u32, u32)>) -> u64 {
        hits.clear();
        let mut work = 0_u64;
        for (index, token) in tokens.as_slice().iter().enumerate() {
            if token.kind == TokenKind::Url {
                continue;
            }
            let token_index = u32::try_from(index).unwrap_or(u32::MAX);
            let folded = tokens.folded(token);
            if let Some(ids) = self
                .literal_heads
                .contains_exact(folded)
                .then(|| self.literal.get(folded))
                .flatten()
            {
                for &id in ids {
                    if self.accepts(id, token, folded, text, &mut work) {
                        hits.push((id, token_index));
                    }
                }
            }
            let lengths: &[usize] = if self.prefix_heads.contains(folded) {
                &self.prefix_lengths
            } else {
                &[]
            };
            for &length in lengths {
                if length > folded.len() {
                    break;
                }
                if !folded.is_char_boundary(length) {
                    continue;
                }
                work += 1;
                if let Some(ids) = self.prefixed.get(&folded[..length]) {
                    for &id in ids {
                        if self.accepts(id, token, folded, text, &mut work) {
                            hits.push((id, token_index));
                        }
                    }
                }
            }
            for &id in &self.unanchored {
                if self.accepts(id, token, folded, text, &mut work) {
                    hits.push((id, token_index));
                }
            }
        }
        hits.sort_unstable();
        let count = u64::try_from(hits.len()).unwrap_or(u64::MAX);
        work.saturating_add(count)
    }

    fn collect_candidates(&self, scratch: &mut MatchScratch) {
        scratch.candidates.clear();
        scratch.touched.clear();
        scratch.satisfied.clear();
        scratch.satisfied.resize(self.topics.len(), 0);
        let mut previous_atom = None;
        for &(atom, _) in &scratch.hits {
            if previous_atom == Some(atom) {
                continue;
            }
            previous_atom = Some(atom);
            for &(topic, bits) in &self.triggers[atom as usize] {
                let satisfied = &mut scratch.satisfied[topic as usize];
                if *satisfied == 0 {
                    scratch.touched.push(topic);
                }
                *satisfied |= bits;
            }
        }
        for &topic in &scratch.touched {
            if scratch.satisfied[topic as usize] == self.required[topic as usize] {
                scratch.candidates.push(topic);
            }
        }
        scratch.candidates.extend_from_slice(&self.always);
        scratch.candidates.sort_unstable();
    }

    /// Whether atom `id` accepts `token`; wildcard steps are added to `work`.
    fn accepts(&self, id: u32, token: &Token, folded: &str, text: &str, work: &mut u64) -> bool {
        *work += 1;
        let atom = &self.atoms[id as usize];
        let kind_ok = match atom.kind {
            AtomKind::Any => token.kind != TokenKind::Url,
            AtomKind::Hashtag => token.kind == TokenKind::Hashtag,
            AtomKind::Handle => token.kind == TokenKind::Handle,
        };
        if !kind_ok || (atom.wildcard && !glob(&atom.folded, folded, work)) {
            return false;
        }
        match &atom.exact {
            None => true,
            Some(pattern) => {
                let form = exact_form(text, token);
                if atom.wildcard {
                    glob(pattern, &form, work)
                } else {
                    **pattern == *form
                }
            }
        }
    }
}

/// A set of two-byte beginnings (one-byte strings count as their byte and a
/// zero), as a 64 Kibit bitmap: one load answers "could any key start so?".
#[derive(Debug, Clone)]
struct HeadSet {
    bits: Box<[u64]>,
}

impl Default for HeadSet {
    fn default() -> HeadSet {
        HeadSet {
            bits: vec![0; 1024].into_boxed_slice(),
        }
    }
}

impl HeadSet {
    fn head(text: &str) -> usize {
        let bytes = text.as_bytes();
        let first = bytes.first().copied().map_or(0, usize::from);
        let second = bytes.get(1).copied().map_or(0, usize::from);
        (first << 8) | second
    }

    fn insert(&mut self, key: &str) {
        let head = HeadSet::head(key);
        self.bits[head / 64] |= 1 << (head % 64);
    }

    /// Records a key that will only be compared whole (see `contains_exact`).
    fn insert_exact(&mut self, key: &str) {
        self.insert(key);
    }

    /// Whether some key inserted with `insert_exact` could equal `text`.
    fn contains_exact(&self, text: &str) -> bool {
        let head = HeadSet::head(text);
        self.bits[head / 64] & (1 << (head % 64)) != 0
    }

    /// Whether some inserted key could be a prefix of `text`: a one-byte key
    /// is a prefix of any text starting with that byte, so both heads count.
    fn contains(&self, text: &str) -> bool {
        let test = |head: usize| self.bits[head / 64] & (1 << (head % 64)) != 0;
        let head = HeadSet::head(text);
        test(head) || test(head & 0xff00)
    }
}

/// The token as written (NFC, without `#`/`@`, connectors removed from a
/// joined form), for exact-form terms.
pub(super) fn exact_form<'t>(text: &'t str, token: &Token) -> Cow<'t, str> {
    let mut written = &text[token.start as usize..token.end as usize];
    if matches!(token.kind, TokenKind::Hashtag | TokenKind::Handle) {
        written = &written[1..];
    }
    let joined: Cow<'t, str> = if token.joined {
        Cow::Owned(written.chars().filter(|&c| !is_connector(c)).collect())
    } else {
        Cow::Borrowed(written)
    };
    if joined.is_ascii() {
        joined
    } else {
        Cow::Owned(joined.nfc().collect())
    }
}

/// `*` matches zero or more characters, `?` exactly one. Each step of the
/// scan is added to `steps`: at most (pattern length + 1) × (text length + 1).
pub(super) fn glob(pattern: &str, text: &str, steps: &mut u64) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut resume: Option<(usize, usize)> = None;
    loop {
        *steps += 1;
        if let Some(pc) = pattern[p..].chars().next() {
            let tc = text[t..].chars().next();
            match (pc, tc) {
                ('*', _) => {
                    p += 1;
                    resume = Some((p, t));
                    continue;
                }
                ('?', Some(tc)) => {
                    p += 1;
                    t += tc.len_utf8();
                    continue;
                }
                (pc, Some(tc)) if pc == tc => {
                    p += pc.len_utf8();
                    t += tc.len_utf8();
                    continue;
                }
                _ => {}
            }
        } else if t == text.len() {
            return true;
        }
        // Mismatch: let the last `*` swallow one more character, if any.
        match resume {
            Some((star_p, star_t)) => match text[star_t..].chars().next() {
                Some(skipped) => {
                    let next_t = star_t + skipped.len_utf8();
                    resume = Some((star_p, next_t));
                    p = star_p;
                    t = next_t;
                }
                None => return false,
            },
            None => return false,
        }
    }
}

/// Bytes a cut may move back to avoid splitting a word in two.
const CUT_BACKTRACK_BYTES: usize = 256;

/// The first `limit` characters of `text` and how many characters that is. A
/// cut inside a word moves back to the word's start (when it is near), so a
/// truncated `zaragoza` never reads as `zara`.
fn analysed_prefix(text: &str, limit: usize) -> (&str, usize) {
    let Some((cut, _)) = text.char_indices().nth(limit) else {
        return (text, text.chars().count());
    };
    let splits_word = text[cut..].chars().next().is_some_and(is_word_char)
        && text[..cut].chars().next_back().is_some_and(is_word_char);
    let mut end = cut;
    if splits_word
        && let Some((boundary, c)) = text[..cut]
            .char_indices()
            .rev()
            .take_while(|&(index, _)| cut - index <= CUT_BACKTRACK_BYTES)
            .find(|&(_, c)| !is_word_char(c))
    {
        end = boundary + c.len_utf8();
    }
    let chars = if end == cut {
        limit
    } else {
        limit - text[end..cut].chars().count()
    };
    (&text[..end], chars)
}

/// The host part of a URL (no scheme, user, port or path).
pub(super) fn url_host(url: &str) -> Option<&str> {
    let after_scheme = url.find("://").map_or(url, |index| &url[index + 3..]);
    let authority = after_scheme.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit('@').next()?;
    let host = host_port.split(':').next()?.trim_end_matches('.');
    (!host.is_empty()).then_some(host)
}

fn strip_www(host: &str) -> &str {
    if host.len() > 4 && host.as_bytes()[..4].eq_ignore_ascii_case(b"www.") {
        &host[4..]
    } else {
        host
    }
}

/// `host` is `domain` or one of its subdomains (ASCII case-insensitive).
pub(super) fn host_within(host: &str, domain: &str) -> bool {
    let host = strip_www(host).as_bytes();
    let domain = domain.as_bytes();
    if host.len() == domain.len() {
        return host.eq_ignore_ascii_case(domain);
    }
    host.len() > domain.len()
        && host[host.len() - domain.len() - 1] == b'.'
        && host[host.len() - domain.len()..].eq_ignore_ascii_case(domain)
}

pub(super) fn contains_ignore_case(haystack: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    if haystack.is_ascii() && needle.is_ascii() {
        return haystack
            .as_bytes()
            .windows(needle.len())
            .any(|window| window.eq_ignore_ascii_case(needle.as_bytes()));
    }
    haystack.to_lowercase().contains(&needle.to_lowercase())
}

/// Interns atoms while turning query trees into node trees.
#[derive(Default)]
struct Builder {
    atoms: Vec<Atom>,
    ids: HashMap<Atom, u32>,
}

/// What compiling one topic collects besides its tree: the labels of its
/// terms (the `term` of its spans) and how many memo slots it needs.
#[derive(Default)]
struct TopicShape {
    labels: Vec<String>,
    slots: u32,
    /// The slot of each distinct atom sequence: a phrase written twice is
    /// evaluated once.
    sequence_slots: HashMap<Box<[u32]>, u32>,
}

impl TopicShape {
    fn slot(&mut self) -> u32 {
        self.slots += 1;
        self.slots - 1
    }

    fn sequence_slot(&mut self, atoms: &[u32]) -> u32 {
        if let Some(&slot) = self.sequence_slots.get(atoms) {
            return slot;
        }
        let slot = self.slot();
        self.sequence_slots.insert(atoms.into(), slot);
        slot
    }
}

/// A phrase with more hyphenated words than this matches only their split
/// forms, to keep the number of alternatives small.
const MAX_PHRASE_ALTERNATIVES: usize = 16;

impl Builder {
    fn intern(&mut self, atom: Atom) -> u32 {
        if let Some(&id) = self.ids.get(&atom) {
            return id;
        }
        let id = u32::try_from(self.atoms.len()).unwrap_or(u32::MAX);
        self.atoms.push(atom.clone());
        self.ids.insert(atom, id);
        id
    }

    fn label(labels: &mut Vec<String>, text: String) -> u32 {
        if let Some(index) = labels.iter().position(|label| *label == text) {
            return u32::try_from(index).unwrap_or(u32::MAX);
        }
        labels.push(text);
        u32::try_from(labels.len() - 1).unwrap_or(u32::MAX)
    }

    fn sequences_node(
        &mut self,
        sequences: Vec<Vec<Atom>>,
        label: u32,
        shape: &mut TopicShape,
    ) -> Node {
        let mut nodes: Vec<Node> = sequences
            .into_iter()
            .filter(|sequence| !sequence.is_empty())
            .map(|sequence| {
                let atoms: Box<[u32]> =
                    sequence.into_iter().map(|atom| self.intern(atom)).collect();
                let slot = shape.sequence_slot(&atoms);
                Node::Sequence(Sequence::new(atoms, label, slot))
            })
            .collect();
        match nodes.len() {
            0 => Node::Never,
            1 => nodes.remove(0),
            _ => Node::Any {
                children: nodes.into(),
                slot: shape.slot(),
            },
        }
    }

    fn node(&mut self, query: &Query, shape: &mut TopicShape) -> Node {
        match query {
            Query::Term(term) => {
                let label = Self::label(&mut shape.labels, query.to_string());
                let sequences = term_sequences(&term.text, term.exact);
                self.sequences_node(sequences, label, shape)
            }
            Query::Phrase(phrase) => {
                let label = Self::label(&mut shape.labels, query.to_string());
                let mut sequences: Vec<Vec<Atom>> = vec![Vec::new()];
                for word in phrase.text.split_whitespace() {
                    let alternatives = term_sequences(word, phrase.exact);
                    if alternatives.is_empty() {
                        continue;
                    }
                    let keep = if sequences.len() * alternatives.len() > MAX_PHRASE_ALTERNATIVES {
                        1
                    } else {
                        alternatives.len()
                    };
                    sequences = sequences
                        .iter()
                        .flat_map(|prefix| {
                            alternatives.iter().take(keep).map(move |alternative| {
                                let mut joined = prefix.clone();
                                joined.extend(alternative.iter().cloned());
                                joined
                            })
                        })
                        .collect();
                }
                self.sequences_node(sequences, label, shape)
            }
            Query::And(items) => {
                Node::All(items.iter().map(|item| self.node(item, shape)).collect())
            }
            Query::Or(items) => Node::Any {
                children: items.iter().map(|item| self.node(item, shape)).collect(),
                slot: shape.slot(),
            },
            Query::Not(inner) => Node::Not(Box::new(self.node(inner, shape))),
            Query::Near {
                left,
                right,
                distance,
                ordered,
            } => Node::Near {
                left: Box::new(self.node(left, shape)),
                right: Box::new(self.node(right, shape)),
                distance: *distance,
                ordered: *ordered,
                slot: shape.slot(),
            },
            Query::Field(filter) => {
                let value = filter.value.trim();
                Node::Field(match filter.field {
                    Field::Author => FieldTest::Author(fold(value.trim_start_matches('@'))),
                    Field::Site => FieldTest::Site(strip_www(value).to_ascii_lowercase()),
                    Field::Url => FieldTest::Url(value.to_lowercase()),
                    Field::Lang => FieldTest::Lang(value.replace('_', "-").to_ascii_lowercase()),
                    Field::Source => FieldTest::Source(value.to_owned()),
                })
            }
        }
    }
}

fn make_atom(kind: AtomKind, written: &str, exact: bool) -> Atom {
    Atom {
        kind,
        folded: fold(written).into(),
        exact: exact.then(|| written.nfc().collect::<String>().into()),
        wildcard: written.contains(['*', '?']),
    }
}

/// The alternative atom sequences a term matches: its parts on consecutive
/// positions and, for a hyphenated/apostrophised term, the joined form.
fn term_sequences(text: &str, exact: bool) -> Vec<Vec<Atom>> {
    let (kind, body) = if let Some(body) = text.strip_prefix('#') {
        (AtomKind::Hashtag, body)
    } else if let Some(body) = text.strip_prefix('@') {
        (AtomKind::Handle, body)
    } else {
        (AtomKind::Any, text)
    };
    if kind == AtomKind::Handle {
        // A handle is one token, dots and all; `@` may repeat (Mastodon).
        if !body.chars().any(char::is_alphanumeric) {
            return Vec::new();
        }
        return vec![vec![make_atom(kind, body, exact)]];
    }
    let is_part_char = |c: char| is_word_char(c) || c == '*' || c == '?';
    let mut parts: Vec<&str> = Vec::new();
    let mut only_connectors = true;
    let mut part_start: Option<usize> = None;
    let mut gap = String::new();
    for (index, c) in body.char_indices() {
        if is_part_char(c) {
            if part_start.is_none() {
                let connector_gap = gap.chars().count() == 1 && gap.chars().all(is_connector);
                if !parts.is_empty() && !connector_gap {
                    only_connectors = false;
                }
                gap.clear();
                part_start = Some(index);
            }
        } else {
            if let Some(start) = part_start.take() {
                parts.push(&body[start..index]);
            }
            gap.push(c);
        }
    }
    if let Some(start) = part_start {
        parts.push(&body[start..]);
    }
    if parts.is_empty() {
        return Vec::new();
    }
    let split: Vec<Atom> = parts
        .iter()
        .enumerate()
        .map(|(index, part)| make_atom(if index == 0 { kind } else { AtomKind::Any }, part, exact))
        .collect();
    let mut sequences = vec![split];
    if parts.len() > 1 && only_connectors {
        sequences.push(vec![make_atom(kind, &parts.concat(), exact)]);
    }
    sequences
}

/// Words so frequent in Spanish and English posts that waking topics on them
/// would evaluate those topics for nearly every mention.
const COMMON_WORDS: &[&str] = &[
    "a", "al", "and", "are", "as", "at", "be", "but", "by", "como", "con", "de", "del", "do", "el",
    "en", "es", "esta", "for", "from", "ha", "have", "he", "i", "if", "in", "is", "it", "la",
    "las", "lo", "los", "me", "mas", "muy", "my", "mi", "no", "not", "of", "on", "or", "para",
    "pero", "por", "que", "se", "si", "so", "su", "that", "the", "this", "to", "todo", "un", "una",
    "we", "was", "with", "y", "ya", "yo", "you",
];

/// Estimated cost of waking topics on `atom`: common and short words occur
/// in more mentions, wildcards match more words than their prefix suggests.
fn atom_cost(atom: &Atom) -> u32 {
    let literal = atom.folded.find(['*', '?']).unwrap_or(atom.folded.len());
    if COMMON_WORDS.contains(&&*atom.folded) {
        return 64;
    }
    let length = u32::try_from(literal).unwrap_or(u32::MAX).max(1);
    4 + 24 / length + if atom.wildcard { 4 } else { 0 }
}

/// A set of atoms at least one of which must occur, and its summed
/// [`atom_cost`].
#[derive(Debug, Clone, PartialEq, Eq)]
struct Group {
    atoms: Vec<u32>,
    cost: u32,
}

/// How many required groups a topic keeps: one bit each in a `u8`.
const MAX_GROUPS: usize = 8;

/// Groups of atoms that any match of `node` needs (one atom of every group),
/// cheapest first, or `None` when it can match on a mention with none of its
/// words. An empty group can never be satisfied (a term with no words).
fn required_groups(node: &Node, atoms: &[Atom]) -> Option<Vec<Group>> {
    let mut groups = match node {
        Node::Sequence(Sequence {
            atoms: sequence, ..
        }) => sequence
            .iter()
            .map(|&id| Group {
                atoms: vec![id],
                cost: atom_cost(&atoms[id as usize]),
            })
            .collect(),
        Node::Any { children, .. } => {
            // Each alternative implies its own cheapest group, so the union
            // of those is required.
            let mut union = Group {
                atoms: Vec::new(),
                cost: 0,
            };
            for child in children {
                let cheapest = required_groups(child, atoms)?.into_iter().next()?;
                union.atoms.extend(cheapest.atoms);
                union.cost = union.cost.saturating_add(cheapest.cost);
            }
            vec![union]
        }
        Node::All(children) => {
            let groups: Vec<Group> = children
                .iter()
                .filter_map(|child| required_groups(child, atoms))
                .flatten()
                .collect();
            if groups.is_empty() {
                return None;
            }
            groups
        }
        Node::Near { left, right, .. } => {
            let mut groups = required_groups(left, atoms).unwrap_or_default();
            groups.extend(required_groups(right, atoms).unwrap_or_default());
            if groups.is_empty() {
                return None;
            }
            groups
        }
        Node::Never => vec![Group {
            atoms: Vec::new(),
            cost: 0,
        }],
        Node::Not(_) | Node::Field(_) => return None,
    };
    groups.sort_by(|a, b| a.cost.cmp(&b.cost).then_with(|| a.atoms.cmp(&b.atoms)));
    groups.dedup();
    groups.truncate(MAX_GROUPS);
    Some(groups)
}

/// A small, fast, non-cryptographic hasher (the `FxHash` mix) for the
/// per-token lookups: topics are written by the workspace's own users, so
/// hash flooding is not a concern, and SipHash would dominate the budget.
#[derive(Default, Clone, Copy)]
struct FastHasher {
    hash: u64,
}

impl FastHasher {
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let remainder = chunks.remainder();
        if !remainder.is_empty() {
            let mut word = [0u8; 8];
            word[..remainder.len()].copy_from_slice(remainder);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, value: u8) {
        self.add(u64::from(value));
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}

type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::query::parse;
    use proptest::prelude::*;

    /// The evaluation as it was before it was made linear: every candidate
    /// re-scans the hits, NEAR pairs every occurrence with every other. Slow,
    /// but obviously right; the linear evaluation must agree with it.
    mod naive {
        use super::super::{FieldTest, Node, Sequence, Span, host_within, url_host};
        use crate::query::evaluate::MAX_SPANS_PER_TOPIC;
        use crate::query::tokens::{Token, Tokens, fold};
        use crate::query::{Document, TopicMatch};

        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        struct Stretch {
            first: u32,
            last: u32,
        }

        impl Stretch {
            fn of(token: &Token) -> Stretch {
                Stretch {
                    first: token.first_position,
                    last: token.last_position,
                }
            }
            fn cover(self, other: Stretch) -> Stretch {
                Stretch {
                    first: self.first.min(other.first),
                    last: self.last.max(other.last),
                }
            }
            fn inside(self, regions: &[Stretch]) -> bool {
                regions
                    .iter()
                    .any(|region| region.first <= self.first && self.last <= region.last)
            }
        }

        fn near_pair(left: Stretch, right: Stretch, distance: u32, ordered: bool) -> bool {
            if left.last < right.first {
                right.first - left.last - 1 <= distance
            } else if !ordered && right.last < left.first {
                left.first - right.last - 1 <= distance
            } else {
                false
            }
        }

        pub(super) struct Naive<'s> {
            pub(super) tokens: &'s Tokens,
            pub(super) hits: &'s [(u32, u32)],
            pub(super) document: &'s Document<'s>,
        }

        impl Naive<'_> {
            fn atom_hits(&self, atom: u32) -> impl Iterator<Item = &Token> + '_ {
                self.hits
                    .iter()
                    .filter(move |&&(id, _)| id == atom)
                    .map(|&(_, token)| &self.tokens.as_slice()[token as usize])
            }

            fn eval(&self, node: &Node) -> bool {
                match node {
                    Node::Sequence(sequence) => {
                        let mut found = Vec::new();
                        self.sequence(sequence, &mut found);
                        !found.is_empty()
                    }
                    Node::Any { children, .. } => children.iter().any(|child| self.eval(child)),
                    Node::All(children) => children.iter().all(|child| self.eval(child)),
                    Node::Not(inner) => !self.eval(inner),
                    Node::Near {
                        left,
                        right,
                        distance,
                        ordered,
                        ..
                    } => {
                        let (mut lefts, mut rights) = (Vec::new(), Vec::new());
                        self.occurrences(left, &mut lefts);
                        self.occurrences(right, &mut rights);
                        lefts
                            .iter()
                            .any(|&l| rights.iter().any(|&r| near_pair(l, r, *distance, *ordered)))
                    }
                    Node::Field(test) => self.field(test),
                    Node::Never => false,
                }
            }

            fn field(&self, test: &FieldTest) -> bool {
                let document = self.document;
                match test {
                    FieldTest::Author(wanted) => document.author.is_some_and(|author| {
                        let author = fold(author.trim().trim_start_matches('@'));
                        if wanted.contains(['*', '?']) {
                            super::super::glob(wanted, &author, &mut 0)
                        } else {
                            author == *wanted
                        }
                    }),
                    FieldTest::Site(domain) => document
                        .url
                        .and_then(url_host)
                        .is_some_and(|host| host_within(host, domain)),
                    FieldTest::Url(part) => document
                        .url
                        .is_some_and(|url| url.to_lowercase().contains(&part.to_lowercase())),
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
                }
            }

            /// Every path of tokens matching the atoms on consecutive positions.
            fn sequence(&self, sequence: &Sequence, out: &mut Vec<Stretch>) {
                let Some((&first, rest)) = sequence.atoms.split_first() else {
                    return;
                };
                for token in self.atom_hits(first) {
                    self.extend(rest, Stretch::of(token), out);
                }
            }

            fn extend(&self, rest: &[u32], so_far: Stretch, out: &mut Vec<Stretch>) {
                let Some((&next, remaining)) = rest.split_first() else {
                    out.push(so_far);
                    return;
                };
                for token in self.atom_hits(next) {
                    if token.first_position == so_far.last + 1 {
                        self.extend(remaining, so_far.cover(Stretch::of(token)), out);
                    }
                }
            }

            fn occurrences(&self, node: &Node, out: &mut Vec<Stretch>) {
                match node {
                    Node::Sequence(sequence) => self.sequence(sequence, out),
                    Node::Any { children, .. } => {
                        for child in children {
                            self.occurrences(child, out);
                        }
                    }
                    Node::Near {
                        left,
                        right,
                        distance,
                        ordered,
                        ..
                    } => {
                        let (mut lefts, mut rights) = (Vec::new(), Vec::new());
                        self.occurrences(left, &mut lefts);
                        self.occurrences(right, &mut rights);
                        for &l in &lefts {
                            for &r in &rights {
                                if near_pair(l, r, *distance, *ordered) {
                                    out.push(l.cover(r));
                                }
                            }
                        }
                    }
                    Node::All(_) | Node::Not(_) | Node::Field(_) | Node::Never => {}
                }
            }

            fn spans(
                &self,
                node: &Node,
                regions: Option<&[Stretch]>,
                labels: &[String],
                out: &mut Vec<Span>,
            ) {
                match node {
                    Node::Sequence(sequence) => {
                        let mut found = Vec::new();
                        self.sequence(sequence, &mut found);
                        for stretch in found {
                            if regions.is_none_or(|regions| stretch.inside(regions)) {
                                out.push(Span {
                                    range: self.tokens.stretch_bytes(stretch.first, stretch.last),
                                    term: labels[sequence.label as usize].clone(),
                                });
                            }
                        }
                    }
                    Node::Any { children, .. } => {
                        for child in children {
                            if regions.is_some() || self.eval(child) {
                                self.spans(child, regions, labels, out);
                            }
                        }
                    }
                    Node::All(children) => {
                        for child in children {
                            self.spans(child, regions, labels, out);
                        }
                    }
                    Node::Near {
                        left,
                        right,
                        distance,
                        ordered,
                        ..
                    } => {
                        let (mut lefts, mut rights) = (Vec::new(), Vec::new());
                        self.occurrences(left, &mut lefts);
                        self.occurrences(right, &mut rights);
                        let mut satisfied = Vec::new();
                        for &l in &lefts {
                            for &r in &rights {
                                let pair = l.cover(r);
                                if near_pair(l, r, *distance, *ordered)
                                    && regions.is_none_or(|regions| pair.inside(regions))
                                {
                                    satisfied.push(pair);
                                }
                            }
                        }
                        if !satisfied.is_empty() {
                            self.spans(left, Some(&satisfied), labels, out);
                            self.spans(right, Some(&satisfied), labels, out);
                        }
                    }
                    Node::Not(_) | Node::Field(_) | Node::Never => {}
                }
            }

            pub(super) fn matches<K: Copy>(
                &self,
                topics: &[super::super::Topic<K>],
            ) -> Vec<TopicMatch<K>> {
                let mut found = Vec::new();
                for topic in topics {
                    if !self.eval(&topic.root) {
                        continue;
                    }
                    let mut spans = Vec::new();
                    self.spans(&topic.root, None, &topic.labels, &mut spans);
                    spans.sort_by(|a, b| {
                        (a.range.start, a.range.end).cmp(&(b.range.start, b.range.end))
                    });
                    spans.dedup_by(|a, b| a.range == b.range);
                    let mut index = 0;
                    while index < spans.len() {
                        let span = &spans[index];
                        let nested = spans.iter().enumerate().any(|(other_index, other)| {
                            other_index != index
                                && other.term == span.term
                                && other.range.start <= span.range.start
                                && span.range.end <= other.range.end
                        });
                        if nested {
                            spans.remove(index);
                        } else {
                            index += 1;
                        }
                    }
                    spans.truncate(MAX_SPANS_PER_TOPIC);
                    found.push(TopicMatch {
                        key: topic.key,
                        spans,
                    });
                }
                found
            }
        }
    }

    /// What the naive evaluation finds for every topic of `set` on `text`.
    fn naive_matches(set: &QuerySet<u32>, document: &Document<'_>) -> Vec<TopicMatch<u32>> {
        let mut tokens = Tokens::new();
        tokens.tokenize(document.text);
        let mut hits = Vec::new();
        set.collect_hits(document.text, &tokens, &mut hits);
        naive::Naive {
            tokens: &tokens,
            hits: &hits,
            document,
        }
        .matches(&set.topics)
    }

    fn compile(queries: &[&str]) -> QuerySet<u32> {
        QuerySet::compile(
            queries
                .iter()
                .enumerate()
                .map(|(index, text)| (u32::try_from(index).unwrap(), parse(text).unwrap())),
        )
        .with_limits(MatchLimits::UNMETERED)
    }

    /// The prefilter may only skip topics that cannot match: evaluating every
    /// topic must give exactly the same matches and spans.
    #[test]
    fn prefilter_never_loses_a_match() {
        let mut topics = crate::query::bench::generated_topics(300, 5);
        let extra = [
            "NOT nubeluz",
            "-lang:es",
            "coca-cola OR \"servicio lento\"",
            "*ción AND (rápido OR slow)",
            "(\"the price\" OR precio) NEAR/3f (alto OR high)",
            "=Café OR #rebajas OR @cafeteca",
            "(a NEAR/1 b) OR (servicio NEAR/0f cliente)",
        ];
        for text in extra {
            topics.push((-1, crate::query::parse(text).unwrap()));
        }
        let set = QuerySet::compile(topics);
        let all: Vec<u32> = (0..u32::try_from(set.len()).unwrap()).collect();
        let mut scratch = MatchScratch::new();
        let mut total = 0;
        for mention in crate::query::bench::generated_mentions(3000, 300, 9) {
            let document = mention.document();
            let fast = set.matches_with(&document, &mut scratch);
            let chars = document.text.chars().count();
            let exhaustive = set.evaluate(&document, &mut scratch, &all, chars);
            assert_eq!(fast.found, exhaustive.found, "mention {:?}", mention.text);
            assert!(fast.too_expensive.is_empty(), "{:?}", mention.text);
            total += fast.found.len();
        }
        assert!(
            total > 1000,
            "the generated data should match often, got {total}"
        );
    }

    #[test]
    fn linear_evaluation_agrees_with_the_naive_one_on_chosen_cases() {
        let cases: &[(&[&str], &str)] = &[
            (
                &["\"coca cola\"", "cocacola", "\"c* c*\"", "\"c* c* fans\""],
                "Coca-Cola fans love coca cola and cocacola-cola",
            ),
            (
                &[
                    "\"a* a* a*\"",
                    "(\"a* a*\" NEAR/0 b) NEAR/1 a*",
                    "a-a NEAR/2f b",
                ],
                "a-a a a-a-a b a-a b",
            ),
            (
                &[
                    "eco NEAR/3 eco NEAR/3 eco",
                    "\"eco eco\" NEAR/0f nada",
                    "eco -nada",
                ],
                "eco eco eco x eco nada eco",
            ),
            (
                &["(precio OR \"the price\") NEAR/2 (alto OR high) NEAR/1 muy"],
                "the price is high, muy high, el precio muy alto",
            ),
        ];
        for &(queries, text) in cases {
            let set = compile(queries);
            let document = Document::new(text);
            let found = set.matches(&document);
            assert_eq!(
                found.found,
                naive_matches(&set, &document),
                "{queries:?} on {text:?}"
            );
            assert!(found.too_expensive.is_empty());
        }
    }

    fn small_query() -> impl Strategy<Value = String> {
        let word = prop_oneof![
            Just("a"),
            Just("b"),
            Just("ab"),
            Just("a*"),
            Just("a-b"),
            Just("b?"),
            Just("#a"),
        ];
        let leaf = prop_oneof![
            3 => word.clone().prop_map(str::to_owned),
            2 => prop::collection::vec(word, 1..5).prop_map(|words| format!("\"{}\"", words.join(" "))),
        ];
        leaf.prop_recursive(3, 12, 3, |inner| {
            prop_oneof![
                (inner.clone(), 0..4_u32, any::<bool>(), inner.clone()).prop_map(
                    |(left, distance, ordered, right)| format!(
                        "({left}) NEAR/{distance}{} ({right})",
                        if ordered { "f" } else { "" }
                    )
                ),
                prop::collection::vec(inner.clone(), 2..4)
                    .prop_map(|items| format!("({})", items.join(" OR "))),
                prop::collection::vec(inner.clone(), 2..3)
                    .prop_map(|items| format!("({})", items.join(" AND "))),
                inner.prop_map(|item| format!("NOT ({item})")),
            ]
        })
    }

    fn small_text() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("a"),
            Just("b"),
            Just("ab"),
            Just("a-b"),
            Just("a-a"),
            Just("b-a-b"),
            Just("#a"),
            Just("x"),
            Just("ba"),
        ];
        prop::collection::vec(piece, 0..14).prop_map(|pieces| pieces.join(" "))
    }

    proptest! {
        /// On small random queries and texts full of their words (hyphens,
        /// wildcards, nested NEAR), the linear evaluation finds exactly the
        /// matches and spans the naive one does.
        #[test]
        fn linear_evaluation_agrees_with_the_naive_one(query in small_query(), text in small_text()) {
            let Ok(parsed) = parse(&query) else { return Ok(()) };
            let set = QuerySet::compile([(0_u32, parsed)]).with_limits(MatchLimits::UNMETERED);
            let document = Document::new(&text);
            let found = set.matches(&document);
            prop_assert!(found.too_expensive.is_empty());
            prop_assert_eq!(found.found, naive_matches(&set, &document), "{} on {:?}", query, text);
        }
    }

    #[test]
    fn the_analysed_prefix_does_not_split_words() {
        let check = |text: &str, limit: usize, expected: &str| {
            let (prefix, chars) = analysed_prefix(text, limit);
            assert_eq!(prefix, expected, "{text:?} cut at {limit}");
            assert_eq!(chars, prefix.chars().count());
        };
        check("zara", 10, "zara");
        check("ir a zaragoza", 9, "ir a ");
        check("ir a zaragoza", 5, "ir a ");
        check("ñandú ñandú", 8, "ñandú ");
        let long_word = "a".repeat(1_000);
        check(&long_word, 600, &long_word[..600]);
    }

    #[test]
    fn glob_follows_star_and_question_mark() {
        let check = |pattern: &str, text: &str, expected: bool| {
            assert_eq!(glob(pattern, text, &mut 0), expected, "{pattern} vs {text}");
        };
        check("conect*", "conect", true);
        check("conect*", "conectividad", true);
        check("conect*", "desconectar", false);
        check("h?la", "hola", true);
        check("h?la", "hla", false);
        check("h?la", "hoola", false);
        check("*cion", "atencion", true);
        check("a*b*c", "axxbyyc", true);
        check("a*b*c", "axxbyy", false);
        check("ñ?", "ñá", true);
    }
    #[test]
    fn hosts_include_subdomains_only_at_dots() {
        let check = |url: &str, domain: &str, expected: bool| {
            let host = url_host(url).unwrap();
            assert_eq!(host_within(host, domain), expected, "{url} in {domain}");
        };
        check("https://news.example.com/a", "example.com", true);
        check("https://EXAMPLE.com", "example.com", true);
        check("https://www.example.com/x", "example.com", true);
        check("https://badexample.com/", "example.com", false);
        check("http://user@example.com:8080/p", "example.com", true);
    }
}
