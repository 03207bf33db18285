//! A reproducible micro-benchmark of query matching, for `atalaya bench`.
//!
//! It generates topics in the mix a real workspace has (plain terms, phrases,
//! OR groups, NEAR, wildcards, negations, hashtags, handles and field filters)
//! and tweet-length Spanish and English posts from a fixed seed, then times
//! [`QuerySet::matches_with`] per mention. Run it in release mode: debug builds
//! are an order of magnitude slower. Measuring wall time is the point here, so
//! this is the one place in the crate that reads a clock.

use std::time::Instant;

use super::{Document, MatchScratch, Query, QuerySet, parse};

/// The result of [`run`].
#[derive(Debug, Clone, PartialEq)]
pub struct MatchBenchmark {
    pub topics: usize,
    pub mentions: usize,
    /// Topic matches found over all mentions (a sanity check that the
    /// generated data exercises matching).
    pub matches: usize,
    /// Median microseconds to match one mention against all topics.
    pub match_p50_us: f64,
    pub match_p90_us: f64,
    pub match_p99_us: f64,
    /// Topic evaluations that ran out of work budget (0 on this data).
    pub too_expensive: usize,
    /// The most work units one mention took per character of its text, over
    /// all topics: how far normal posts stay from the budget.
    pub max_work_per_char: f64,
}

/// A generated mention and its metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedMention {
    pub text: String,
    pub author: String,
    pub url: String,
    pub lang: &'static str,
    pub source: &'static str,
}

impl GeneratedMention {
    pub fn document(&self) -> Document<'_> {
        Document {
            text: &self.text,
            author: Some(&self.author),
            url: Some(&self.url),
            lang: Some(self.lang),
            source: Some(self.source),
        }
    }
}

/// SplitMix64: tiny, deterministic, good enough to shuffle words.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(bound.max(1)).unwrap_or(1)).unwrap_or(0)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Syllables for invented brand names, so no real brand is implied.
const SYLLABLES: &[&str] = &[
    "nu", "be", "luz", "ca", "fe", "mo", "vi", "tel", "za", "pa", "rra", "ve", "lo", "xia", "lum",
    "bre", "ro", "pa", "lia", "ban", "co", "se", "gu", "ra", "ener", "ge", "ta", "via", "li",
    "mas",
];

/// `count` distinct invented brand names.
fn brands(count: usize) -> Vec<String> {
    let mut random = Random(3);
    let mut names: Vec<String> = Vec::with_capacity(count);
    while names.len() < count {
        let syllables = 2 + random.below(2);
        let name: String = (0..syllables).map(|_| random.pick(SYLLABLES)).collect();
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// A workspace follows its brand, products and competitors: about two topics
/// per name.
const TOPICS_PER_BRAND: usize = 2;

const SPANISH: &[&str] = &[
    "el",
    "la",
    "de",
    "que",
    "y",
    "en",
    "un",
    "una",
    "por",
    "con",
    "para",
    "pero",
    "muy",
    "todo",
    "servicio",
    "atención",
    "cliente",
    "pedido",
    "envío",
    "tienda",
    "precio",
    "factura",
    "móvil",
    "conexión",
    "llamada",
    "problema",
    "rápido",
    "lento",
    "genial",
    "horrible",
    "gracias",
    "nunca",
    "siempre",
    "ayer",
    "hoy",
    "mañana",
    "compré",
    "devolución",
    "oferta",
    "rebajas",
    "café",
    "camión",
    "azúcar",
    "corazón",
    "canción",
    "años",
    "niño",
    "ciudad",
    "barrio",
    "verano",
];
const ENGLISH: &[&str] = &[
    "the",
    "a",
    "of",
    "and",
    "to",
    "in",
    "is",
    "my",
    "for",
    "with",
    "but",
    "very",
    "never",
    "service",
    "customer",
    "order",
    "delivery",
    "store",
    "price",
    "invoice",
    "phone",
    "connection",
    "call",
    "problem",
    "fast",
    "slow",
    "great",
    "awful",
    "thanks",
    "always",
    "yesterday",
    "today",
    "bought",
    "refund",
    "deal",
    "sale",
    "coffee",
    "support",
    "app",
    "update",
    "battery",
    "screen",
];
const STEMS: &[&str] = &[
    "conect", "factur", "devol", "llam", "servic", "deliver", "refund", "pedid",
];

/// `count` topics in a realistic mix, each parsed from generated query text.
pub fn generated_topics(count: usize, seed: u64) -> Vec<(i64, Query)> {
    let mut random = Random(seed);
    let names = brands(count.div_ceil(TOPICS_PER_BRAND).max(1));
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut topics = Vec::with_capacity(count);
    let mut index = 0;
    while topics.len() < count {
        let brand = names[(index / TOPICS_PER_BRAND) % names.len()];
        let word = |random: &mut Random| {
            if random.below(2) == 0 {
                random.pick(SPANISH)
            } else {
                random.pick(ENGLISH)
            }
        };
        let text = match index % 10 {
            0 => brand.to_owned(),
            1 => format!("\"{brand} {}\"", word(&mut random)),
            2 => format!("{brand} OR #{brand} OR @{brand}"),
            3 => format!(
                "{brand} NEAR/3 ({} OR {})",
                word(&mut random),
                word(&mut random)
            ),
            4 => format!(
                "({brand} OR {}) AND {}*",
                random.pick(&names),
                random.pick(STEMS)
            ),
            5 => format!(
                "{brand} -{} -\"{} {}\"",
                word(&mut random),
                word(&mut random),
                word(&mut random)
            ),
            6 => format!("{brand} lang:es site:{brand}.example"),
            7 => format!(
                "({brand} OR {}-{}) NEAR/2f {}",
                random.pick(&names),
                word(&mut random),
                word(&mut random)
            ),
            8 => format!("{} AND {}?", random.pick(STEMS), brand),
            _ => format!(
                "(\"{} {}\" OR {brand}) AND NOT author:{brand}",
                word(&mut random),
                word(&mut random)
            ),
        };
        index += 1;
        // Every template is valid; a word that happens to form an invalid
        // query (none does today) is skipped rather than aborting the run.
        if let Ok(query) = parse(&text) {
            topics.push((i64::try_from(topics.len()).unwrap_or(i64::MAX), query));
        }
    }
    topics
}

/// `count` tweet-length posts, half Spanish, half English, most naming about
/// one of the brands that `generated_topics(topics, _)` follows.
pub fn generated_mentions(count: usize, topics: usize, seed: u64) -> Vec<GeneratedMention> {
    let mut random = Random(seed);
    let names = brands(topics.div_ceil(TOPICS_PER_BRAND).max(1));
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    (0..count)
        .map(|index| {
            let spanish = index % 2 == 0;
            let words = if spanish { SPANISH } else { ENGLISH };
            let length = 12 + random.below(18);
            let mut text = String::with_capacity(200);
            for position in 0..length {
                if position > 0 {
                    text.push(' ');
                }
                match random.below(48) {
                    0 => text.push_str(random.pick(&names)),
                    1 => {
                        text.push('#');
                        text.push_str(random.pick(&names));
                    }
                    2 => {
                        text.push('@');
                        text.push_str(random.pick(&names));
                    }
                    3..=6 => {
                        let word = random.pick(words);
                        let mut chars = word.chars();
                        if let Some(first) = chars.next() {
                            text.extend(first.to_uppercase());
                            text.push_str(chars.as_str());
                        }
                    }
                    7..=9 => {
                        text.push_str(random.pick(STEMS));
                        text.push_str(random.pick(&["ar", "ado", "ión", "ing", "ed", "o"]));
                    }
                    _ => text.push_str(random.pick(words)),
                }
                if random.below(9) == 0 {
                    text.push_str(random.pick(&[",", ".", "!", "?", "…"]));
                }
            }
            if random.below(4) == 0 {
                text.push_str(" https://t.example/");
                text.push_str(&random.next().to_string());
            }
            let brand = random.pick(&names);
            GeneratedMention {
                text,
                author: format!("user{}", random.below(500)),
                url: format!(
                    "https://{}{brand}.example/post/{index}",
                    if random.below(2) == 0 { "news." } else { "" }
                ),
                lang: if spanish { "es" } else { "en" },
                source: if random.below(2) == 0 {
                    "rss"
                } else {
                    "mastodon"
                },
            }
        })
        .collect()
}

/// Times matching of `mentions` generated posts against `topics` generated
/// topics and reports percentiles per mention.
pub fn run(topics: usize, mentions: usize) -> MatchBenchmark {
    let set = QuerySet::compile(generated_topics(topics, 7));
    let posts = generated_mentions(mentions.max(1), topics, 11);
    let mut scratch = MatchScratch::new();
    // One untimed pass warms caches and sizes the scratch buffers.
    for post in &posts {
        std::hint::black_box(set.matches_with(&post.document(), &mut scratch));
    }
    let mut timings = Vec::with_capacity(posts.len());
    let mut matches = 0;
    let mut too_expensive = 0;
    let mut max_work_per_char: f64 = 0.0;
    for post in &posts {
        let document = post.document();
        let started = Instant::now();
        let found = set.matches_with(&document, &mut scratch);
        let elapsed = started.elapsed();
        matches += found.found.len();
        too_expensive += found.too_expensive.len();
        // Work units and text lengths are far below 2^52.
        #[allow(clippy::cast_precision_loss)]
        let per_char = found.work as f64 / post.text.chars().count().max(1) as f64;
        max_work_per_char = max_work_per_char.max(per_char);
        std::hint::black_box(found);
        timings.push(elapsed.as_secs_f64() * 1e6);
    }
    timings.sort_by(f64::total_cmp);
    let percentile = |p: f64| {
        // Index of the p-th percentile; the casts are bounded by the length.
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let index = ((timings.len() - 1) as f64 * p).round() as usize;
        timings[index]
    };
    MatchBenchmark {
        topics: set.len(),
        mentions: posts.len(),
        matches,
        match_p50_us: percentile(0.5),
        match_p90_us: percentile(0.9),
        match_p99_us: percentile(0.99),
        too_expensive,
        max_work_per_char,
    }
}
