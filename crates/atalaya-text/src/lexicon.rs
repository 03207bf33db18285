//! A small hand-written sentiment lexicon (Spanish and English words, emoji and emoticons).
//!
//! Written for this project from general knowledge of both languages; no tweet text. Words
//! are in folded form (lower case, no accents). Polarity: +1/+2 positive, -1/-2 negative.

use std::collections::HashMap;
use std::sync::OnceLock;

const POSITIVE_STRONG: &[&str] = &[
    // Spanish
    "excelente", "genial", "maravilloso", "maravillosa", "increible", "encanta", "encantan", "encanto",
    "amo", "adoro", "fantastico", "fantastica", "perfecto", "perfecta", "buenisimo", "buenisima",
    "espectacular", "hermoso", "hermosa", "felicidades", "felicitaciones", "enhorabuena", "brutal",
    "precioso", "preciosa", "estupendo", "estupenda", "magnifico", "magnifica", "orgullo", "orgulloso",
    "orgullosa", "feliz", "felices", "mejor", "mejores", "guapo", "guapa", "bellisimo", "divino",
    "divina", "chevere", "bacan", "padrisimo", "emocionado", "emocionada", "gracias",
    // English
    "love", "loved", "loves", "lovely", "amazing", "awesome", "excellent", "great", "fantastic",
    "wonderful", "perfect", "best", "brilliant", "beautiful", "happy", "glad", "congrats",
    "congratulations", "thanks", "thank", "incredible", "outstanding", "superb", "proud",
    "excited", "exciting", "enjoy", "enjoyed", "favorite", "favourite", "gorgeous", "delighted",
];

const POSITIVE: &[&str] = &[
    // Spanish
    "bueno", "buena", "buenos", "buenas", "bien", "gusta", "gustan", "gusto", "alegria", "alegre",
    "bonito", "bonita", "lindo", "linda", "divertido", "divertida", "feliz", "exito", "ganar", "gano",
    "ganamos", "genial", "apoyo", "esperanza", "suerte", "fuerza", "animo", "bravo", "ole", "viva",
    "disfrutar", "disfruto", "disfrutando", "rico", "rica", "sonrisa", "amor", "amigo", "amiga",
    "bendicion", "bendiciones", "crack", "idolo", "top", "positivo", "positiva", "tranquilo",
    "mola", "guay", "chido", "recomiendo", "agradecido", "agradecida", "calidad", "cariño", "carino",
    "besos", "beso", "abrazo", "abrazos", "saludos", "bienvenido", "bienvenida", "ojala", "logro",
    "paz", "sano", "salud", "justo", "acierto", "correcto", "facil", "util", "interesante", "mejorar",
    // English
    "good", "nice", "like", "likes", "liked", "fun", "funny", "cool", "win", "won", "winning",
    "success", "hope", "hopefully", "luck", "lucky", "support", "enjoying", "smile", "friend",
    "friends", "blessed", "bless", "yay", "cute", "sweet", "fine", "well", "better", "positive",
    "recommend", "grateful", "thankful", "quality", "welcome", "peace", "healthy", "easy", "useful",
    "interesting", "fresh", "ready", "helpful", "fair", "right", "wow", "haha", "yes", "fan",
    "hug", "hugs", "kiss", "kisses", "celebrate", "party", "birthday", "victory", "pleased",
];

const NEGATIVE_STRONG: &[&str] = &[
    // Spanish
    "odio", "odia", "odiar", "horrible", "terrible", "asco", "asqueroso", "asquerosa", "pesimo",
    "pesima", "fatal", "verguenza", "vergonzoso", "vergonzosa", "mierda", "basura", "peor", "peores",
    "desastre", "asesino", "asesinos", "corrupto", "corruptos", "corrupcion", "ladron", "ladrones",
    "indignante", "indignacion", "repugnante", "asquito", "puta", "puto", "pinche", "cabron",
    "imbecil", "idiota", "estupido", "estupida", "mentiroso", "mentirosa", "triste", "tristeza",
    "muerte", "muerto", "muertos", "llorar", "lloro", "llorando", "rabia", "harto", "harta",
    // English
    "hate", "hated", "hates", "awful", "terrible", "horrible", "worst", "disgusting", "disgrace",
    "shit", "crap", "sucks", "fuck", "fucking", "stupid", "idiot", "pathetic", "disaster",
    "sad", "angry", "furious", "disappointed", "disappointing", "useless", "racist", "liar",
    "killed", "kill", "death", "dead", "cry", "crying", "shame", "shameful", "evil",
];

const NEGATIVE: &[&str] = &[
    // Spanish
    "malo", "mala", "malos", "malas", "mal", "problema", "problemas", "miedo", "dolor", "duele",
    "enfermo", "enferma", "pena", "lastima", "perder", "perdio", "perdimos", "error", "errores",
    "falta", "culpa", "crisis", "grave", "peligro", "violencia", "guerra", "ataque", "robo", "robar",
    "mentira", "mentiras", "quejas", "queja", "aburrido", "aburrida", "cansado", "cansada", "difícil",
    "dificil", "preocupa", "preocupado", "preocupante", "lamentable", "lamento", "decepcion",
    "decepcionado", "decepcionada", "injusto", "injusticia", "feo", "fea", "nunca", "sufrir",
    "sufrimiento", "enojo", "enojado", "enojada", "molesto", "molesta", "fraude", "caos", "paro",
    "desempleo", "pobreza", "recortes", "despidos", "accidente", "dano", "danos", "negativo",
    "negativa", "fracaso", "ridiculo", "ridicula", "insoportable", "maldito", "maldita",
    "ansiedad", "estres", "agobio", "agobiado",
    // English
    "bad", "worse", "poor", "problem", "problems", "fear", "scared", "pain", "hurt", "hurts", "sick",
    "sorry", "lose", "lost", "losing", "error", "fail", "failed", "failure", "fault", "crisis",
    "danger", "violence", "war", "attack", "lie", "lies", "boring", "bored", "tired", "difficult",
    "hard", "worried", "worry", "unfortunately", "unfair", "ugly", "miss", "missing", "broken",
    "annoying", "annoyed", "upset", "mad", "fraud", "chaos", "accident", "damage", "negative",
    "ridiculous", "wrong", "lonely", "stress", "stressed", "anxiety", "ugh", "wtf", "damn",
    "no", "not", "never", "cancel", "cancelled", "delay", "delayed", "sucked", "hell",
];

/// Emoji with a clear polarity.
const EMOJI_POSITIVE: &[char] = &[
    '😀', '😁', '😂', '😃', '😄', '😅', '😆', '😉', '😊', '😋', '😍', '😎', '😘', '😗', '😙', '😚',
    '🙂', '🤗', '🤩', '🥰', '🥳', '😻', '👍', '👏', '🙌', '💪', '🎉', '🎊', '❤', '💕', '💖', '💗',
    '💙', '💚', '💛', '💜', '🧡', '💯', '✨', '🔥', '⭐', '🌟', '🏆', '🤣', '☺', '😇', '🙏', '✌',
    '👌', '💞', '💓', '😜', '😝', '😛', '🎶', '🌹', '🌸', '💐', '🥂', '🍾',
];

const EMOJI_NEGATIVE: &[char] = &[
    '😞', '😟', '😠', '😡', '😢', '😣', '😤', '😥', '😦', '😧', '😨', '😩', '😪', '😫', '😭', '😰',
    '😱', '😒', '😓', '😔', '😕', '🙁', '☹', '👎', '💔', '🤬', '🤮', '🤢', '😖', '😬', '🙄', '😑',
    '😐', '💩', '😿', '🥺', '🤦', '😷', '🤡', '🖕',
];

fn table() -> &'static HashMap<&'static str, i8> {
    static TABLE: OnceLock<HashMap<&'static str, i8>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = HashMap::new();
        for (words, polarity) in [(POSITIVE, 1i8), (NEGATIVE, -1), (POSITIVE_STRONG, 2), (NEGATIVE_STRONG, -2)] {
            for word in words {
                table.insert(*word, polarity);
            }
        }
        table
    })
}

/// The polarity of a folded word, if the lexicon knows it.
pub fn word_polarity(folded: &str) -> Option<i8> {
    table().get(folded).copied()
}

/// The polarity of an emoji (its base character).
pub fn emoji_polarity(emoji: char) -> Option<i8> {
    if EMOJI_POSITIVE.contains(&emoji) {
        Some(1)
    } else if EMOJI_NEGATIVE.contains(&emoji) {
        Some(-1)
    } else {
        None
    }
}

/// The polarity of a canonical emoticon (see `normalize`).
pub fn emoticon_polarity(emoticon: &str) -> Option<i8> {
    match emoticon {
        ":)" | ":D" | ";)" | ":p" | "<3" => Some(1),
        ":(" | ":'(" | ":/" | "</3" => Some(-1),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups() {
        assert_eq!(word_polarity("genial"), Some(2));
        assert_eq!(word_polarity("bad"), Some(-1));
        assert_eq!(word_polarity("mesa"), None);
        assert_eq!(emoji_polarity('😍'), Some(1));
        assert_eq!(emoji_polarity('😭'), Some(-1));
        assert_eq!(emoticon_polarity(":("), Some(-1));
    }
}
