//! The demo workspace's listening data: topics for "Café Aurora", two invented
//! competitors and the sector; an RSS, a webhook and an import source; and a few
//! hundred mentions in Spanish and English over the last 30 days.
//!
//! Every mention is written here, from templates, for the demo (none comes from
//! any real post), and generated deterministically: the same texts, authors and
//! spacing on every run, relative to the moment the demo is loaded. They go
//! through the real pipeline — language, sentiment, topic matching with
//! highlights, author upsert — exactly as webhook and import items do. The RSS
//! source points at a fictional address: it stays `pending` until polled, and
//! then fails honestly (the name does not resolve), as it should offline.

use anyhow::Context;
use atalaya_connectors::item::{ContentKind, MentionFields};
use atalaya_domain::{Source, Timestamp, TopicKind, Workspace};
use atalaya_store::{NewSource, NewTopic, Store};
use atalaya_workers::ingest::Pipeline;

/// What [`load`] created, for the demo command's summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoListening {
    pub topics: usize,
    pub sources: usize,
    pub mentions: u64,
}

/// Mentions generated for the demo.
pub const DEMO_MENTIONS: usize = 360;
const DAY_MS: i64 = 86_400_000;

/// Name, kind, query, colour.
const TOPICS: [(&str, TopicKind, &str, &str); 6] = [
    (
        "Café Aurora",
        TopicKind::Brand,
        "\"cafe aurora\" OR #cafeaurora OR @cafeaurora OR (aurora NEAR/3 (cafe OR coffee OR tostado OR roastery))",
        "#b45309",
    ),
    (
        "Cold brew Aurora",
        TopicKind::Product,
        "(\"cold brew\" OR \"café frío\") AND aurora",
        "#0e7490",
    ),
    (
        "App de pedidos",
        TopicKind::Product,
        "aurora AND (app OR aplicación OR pedido* OR order*)",
        "#7c3aed",
    ),
    (
        "Brisa Café",
        TopicKind::Competitor,
        "\"brisa cafe\" OR #brisacafe OR @brisacafe",
        "#15803d",
    ),
    (
        "Molino Azul",
        TopicKind::Competitor,
        "\"molino azul\" OR #molinoazul OR @molinoazul",
        "#1d4ed8",
    ),
    (
        "Café de especialidad",
        TopicKind::Sector,
        "\"cafe de especialidad\" OR \"specialty coffee\"",
        "#6b7280",
    ),
];

/// Fictional authors: handle, name, followers.
const AUTHORS: [(&str, &str, i64); 16] = [
    ("@marta_desayuna", "Marta Gil", 1_240),
    ("@pablo.runs", "Pablo Ríos", 310),
    ("@la_barista_sol", "Sol Herrera", 8_900),
    ("@jorge_en_bici", "Jorge Sanz", 95),
    ("@cafeconleire", "Leire Olano", 2_300),
    ("@ana.lee.mucho", "Ana Beltrán", 12_400),
    ("@tomas_foodie", "Tomás Vera", 45_000),
    ("@carmen_madruga", "Carmen Ruiz", 180),
    ("@oliviabakes", "Olivia Park", 3_100),
    ("@sam_commutes", "Sam Turner", 640),
    ("@brewnerd_dan", "Dan Fisher", 19_800),
    ("@nora.reads", "Nora Quinn", 75),
    ("@mike_at_work", "Mike Doyle", 420),
    ("@hannah_travels", "Hannah Moore", 7_600),
    ("@vecinos_centro", "Vecinos del Centro", 5_200),
    ("@guia_cafetera", "Guía Cafetera", 31_000),
];

/// Spanish templates; `{place}` and `{thing}` are filled from the lists below.
const SPANISH: [&str; 24] = [
    "Me encanta el cold brew de Café Aurora, perfecto para estas tardes de calor en {place}",
    "El nuevo tostado de Café Aurora está buenísimo, repetiré seguro",
    "Gracias @cafeaurora por el trato tan amable esta mañana en {place} ❤️",
    "Qué rico el café de Aurora, el mejor desayuno de la semana",
    "La app de pedidos de Aurora funciona genial, recogí mi {thing} sin esperar",
    "Pedido hecho con la app de Café Aurora y listo en cinco minutos, muy cómodo",
    "Llevo 20 minutos esperando mi {thing} en Café Aurora de {place}, qué desastre de servicio",
    "La app de Aurora se cuelga cada vez que intento pagar el pedido, fatal",
    "Mi cold brew de Aurora llegó aguado y caliente, muy decepcionada",
    "Han subido otra vez los precios en Café Aurora y el {thing} ya no vale lo que cuesta",
    "Café Aurora abre una nueva tienda en {place} la semana que viene",
    "¿Alguien sabe a qué hora cierra Café Aurora de {place} los domingos?",
    "Café Aurora cambia la carta de otoño: llegan el {thing} y nuevas galletas",
    "Probando el café frío de Aurora con leche de avena, nada mal",
    "En Brisa Café de {place} el {thing} estaba frío y el personal ni nos miró",
    "Brisa Café tiene la mejor terraza de {place}, un sitio estupendo para trabajar",
    "Molino Azul ha bajado precios en todo el {thing}, habrá que probarlo",
    "Malísima experiencia en Molino Azul, pedido equivocado y sin disculpas",
    "El café de especialidad está cambiando cómo desayunamos en {place}",
    "Feria de café de especialidad este sábado en {place}, ¿quién se apunta?",
    "Hoy llueve en {place} y solo apetece quedarse en casa con un libro",
    "Comparando Café Aurora y Brisa Café: Aurora gana en sabor, Brisa en precio",
    "Nunca más pido en Café Aurora, me cobraron dos veces el {thing}",
    "Atención al cliente de Café Aurora resolvió mi queja en una hora, bien hecho",
];

const ENGLISH: [&str; 20] = [
    "Café Aurora's cold brew is the best thing about my commute, love it",
    "Great service at Café Aurora in {place} today, the barista remembered my order",
    "The Aurora coffee app made my morning so easy, ordered my {thing} in seconds",
    "Just tried the new Aurora roast and wow, smooth and chocolatey",
    "Waited half an hour for a {thing} at Café Aurora, terrible and nobody apologised",
    "The Aurora app keeps crashing at checkout, really frustrating",
    "Café Aurora raised prices again and the {thing} is smaller, not happy",
    "Café Aurora is opening a new store near {place} next month",
    "Does anyone know if Café Aurora in {place} has wifi?",
    "Brisa Cafe has a lovely garden, perfect for a slow Sunday",
    "Cold coffee and rude staff at Brisa Cafe, never again",
    "Molino Azul launched a loyalty card, might be worth it",
    "Specialty coffee keeps getting better in {place}, so many new roasters",
    "Reading about specialty coffee farms and how harvests changed this year",
    "My cat knocked the plant over again, what a morning",
    "Aurora coffee vs Molino Azul: Aurora wins on taste every single time",
    "Café Aurora support sorted out my refund quickly, thank you",
    "The oat latte at Café Aurora was cold and bitter today, disappointing",
    "Ordered a {thing} through the Aurora app and it was ready before I arrived",
    "Stopped by Café Aurora for a {thing}, decent but nothing special",
];

const PLACES: [&str; 6] = [
    "Malasaña",
    "Gràcia",
    "el centro",
    "Triana",
    "Chamberí",
    "Ruzafa",
];
const THINGS: [&str; 6] = [
    "flat white",
    "cortado",
    "cold brew",
    "croissant",
    "latte",
    "bizcocho de limón",
];

/// SplitMix64 with a fixed seed: the same demo every time.
struct Random(u64);

impl Random {
    fn below(&mut self, bound: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z % bound.max(1) as u64) as usize
    }
}

/// One generated demo mention's fields; which source receives it is decided by the caller.
fn demo_fields(index: usize, now: Timestamp, random: &mut Random) -> MentionFields {
    let spanish = index % 5 < 3;
    let template = if spanish {
        SPANISH[random.below(SPANISH.len())]
    } else {
        ENGLISH[random.below(ENGLISH.len())]
    };
    let text = template
        .replace("{place}", PLACES[random.below(PLACES.len())])
        .replace("{thing}", THINGS[random.below(THINGS.len())]);
    let (handle, name, followers) = AUTHORS[random.below(AUTHORS.len())];
    // Spread over the last 30 days, a little denser towards today, at any hour.
    let day = (index * index) * 30 / (DEMO_MENTIONS * DEMO_MENTIONS);
    let age_ms = i64::try_from(29 - day.min(29)).unwrap_or(0) * DAY_MS
        + i64::try_from(random.below(86_400)).unwrap_or(0) * 1_000;
    let profile = handle.trim_start_matches('@');
    MentionFields {
        external_id: Some(format!("demo-{index:04}")),
        url: index
            .is_multiple_of(3)
            .then(|| format!("https://social.example/@{profile}/{index}")),
        content: Some(text),
        content_kind: ContentKind::PlainText,
        author_handle: Some(handle.to_owned()),
        author_name: Some(name.to_owned()),
        author_profile_url: Some(format!("https://social.example/@{profile}")),
        author_followers: Some(followers),
        published_at: Some(now.plus_millis(-age_ms)),
        ..MentionFields::default()
    }
}

/// Adds the listening data to the (freshly created) demo workspace.
pub async fn load(store: &Store, workspace: &Workspace) -> anyhow::Result<DemoListening> {
    let now = Timestamp::now();
    for (name, kind, query, color) in TOPICS {
        let topic = NewTopic {
            name,
            kind,
            query,
            color,
            active: true,
        };
        store
            .topics()
            .create(workspace.id, topic, now)
            .await
            .with_context(|| format!("creating the demo topic {name:?}"))?;
    }
    let source = |kind, name, config| NewSource {
        account_id: None,
        kind,
        name,
        config,
        sealed_secret: None,
        enabled: true,
    };
    store
        .sources()
        .create(
            workspace.id,
            source(
                "rss",
                "Blog Cafetero",
                serde_json::json!({ "url": "https://blog-cafetero.example/feed.xml" }),
            ),
            now,
        )
        .await?;
    let webhook = store
        .sources()
        .create(
            workspace.id,
            source("webhook", "Formulario web", serde_json::json!({})),
            now,
        )
        .await?;
    let import = store
        .sources()
        .create(
            workspace.id,
            source(
                "import",
                "Encuesta de clientes (CSV)",
                serde_json::json!({}),
            ),
            now,
        )
        .await?;

    let mut random = Random(2026);
    let mut pushed = Vec::new();
    let mut imported = Vec::new();
    for index in 0..DEMO_MENTIONS {
        let mention = demo_fields(index, now, &mut random)
            .into_mention()
            .context("a demo mention is invalid")?;
        if index % 3 == 2 {
            imported.push(mention);
        } else {
            pushed.push(mention);
        }
    }
    let pipeline = Pipeline::with_shared_analyzer(store.clone());
    let mut mentions = 0;
    for (source, items) in [(&webhook, pushed), (&import, imported)] {
        mentions += ingest(&pipeline, source, items, now).await?;
    }
    Ok(DemoListening {
        topics: TOPICS.len(),
        sources: 3,
        mentions,
    })
}

async fn ingest(
    pipeline: &Pipeline,
    source: &Source,
    items: Vec<atalaya_connectors::IncomingMention>,
    now: Timestamp,
) -> anyhow::Result<u64> {
    let outcome = pipeline
        .ingest(source, items, now)
        .await
        .with_context(|| format!("ingesting the demo mentions of {:?}", source.name))?;
    Ok(outcome.inserted)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use atalaya_store::MentionFilter;

    #[tokio::test]
    async fn the_demo_shows_every_part_of_listening() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        store.migrate().await.unwrap();
        let workspace = store
            .workspaces()
            .create("cafe-aurora", "Café Aurora (demo)", true)
            .await
            .unwrap();
        let loaded = load(&store, &workspace).await.unwrap();
        assert_eq!(
            loaded.mentions, DEMO_MENTIONS as u64,
            "no two demo mentions collide"
        );

        let all = MentionFilter {
            limit: 1_000,
            ..MentionFilter::default()
        };
        let mentions = store.mentions().list(workspace.id, &all).await.unwrap();
        let now = Timestamp::now();
        assert!(
            mentions
                .iter()
                .all(|m| m.published_at <= now
                    && m.published_at.millis() > now.millis() - 30 * DAY_MS)
        );
        let languages: std::collections::BTreeSet<&str> =
            mentions.iter().map(|m| m.lang.as_str()).collect();
        assert!(
            languages.contains("es") && languages.contains("en"),
            "{languages:?}"
        );
        let [negative, neutral, positive] = store
            .mentions()
            .sentiment_counts(workspace.id, &all)
            .await
            .unwrap();
        assert!(
            negative > 20 && neutral > 20 && positive > 20,
            "{negative}/{neutral}/{positive}"
        );
        for topic in store.topics().list(workspace.id).await.unwrap() {
            let filter = MentionFilter {
                topic: Some(topic.id),
                ..all.clone()
            };
            assert!(
                store.mentions().count(workspace.id, &filter).await.unwrap() > 5,
                "topic {} has mentions",
                topic.name
            );
        }
        let highlighted = mentions
            .iter()
            .flat_map(|m| m.topics.iter().map(move |hit| (m, hit)))
            .find(|(_, hit)| !hit.spans.is_empty());
        assert!(
            highlighted.is_some(),
            "matches explain themselves with spans"
        );
        let days = store
            .mentions()
            .daily_counts(
                workspace.id,
                Timestamp(now.millis() - 30 * DAY_MS),
                now.plus_millis(1),
            )
            .await
            .unwrap();
        let distinct_days: std::collections::BTreeSet<&str> =
            days.iter().map(|count| count.day.as_str()).collect();
        assert!(
            distinct_days.len() >= 20,
            "spread over the month: {}",
            distinct_days.len()
        );
        let sources = store.sources().list(workspace.id).await.unwrap();
        let kinds: Vec<&str> = sources.iter().map(|source| source.kind.as_str()).collect();
        assert_eq!(kinds.len(), 3);
        assert!(kinds.contains(&"rss") && kinds.contains(&"webhook") && kinds.contains(&"import"));

        let again = store
            .workspaces()
            .create("other", "Other", true)
            .await
            .unwrap();
        let reloaded = load(&store, &again).await.unwrap();
        let first: Vec<String> = mentions
            .iter()
            .map(|m| m.text.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let second: Vec<String> = store
            .mentions()
            .list(again.id, &all)
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.text)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        assert_eq!(
            (reloaded.mentions, first),
            (DEMO_MENTIONS as u64, second),
            "deterministic"
        );
    }
}
