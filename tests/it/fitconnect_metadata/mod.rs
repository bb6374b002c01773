//! FIT-Connect metadata: our schemas against the official ones (differential runs over
//! generated documents), the documented verdict of each single rule, and the typed model.

mod v1_0_0;
mod v2;

use serde_json::Value;

/// A named change to a valid base document.
type Mutation = (&'static str, fn(&mut Value));

fn set(doc: &mut Value, pointer: &str, value: Value) {
    let (parent, key) = pointer.rsplit_once('/').expect("pointer");
    // In random combinations an earlier mutation may have removed the parent: then no-op.
    match doc.pointer_mut(parent) {
        Some(Value::Object(map)) => {
            map.insert(key.to_owned(), value);
        }
        Some(Value::Array(items)) => {
            if let Some(item) = key.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                *item = value;
            }
        }
        _ => {}
    }
}

fn remove(doc: &mut Value, pointer: &str) {
    let (parent, key) = pointer.rsplit_once('/').expect("pointer");
    if let Some(Value::Object(map)) = doc.pointer_mut(parent) {
        map.remove(key);
    }
}

/// A small deterministic generator (xorshift64*), so the document set is reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n).expect("fits")).expect("fits")
    }
}

/// The base document, each single mutation (in list order), then 260 random combinations of
/// up to four mutations.
fn documents(base: fn() -> Value, mutations: &[Mutation], seed: u64) -> Vec<(String, Value)> {
    let mut docs = vec![("base".to_owned(), base())];
    for (name, m) in mutations {
        let mut d = base();
        m(&mut d);
        docs.push(((*name).to_owned(), d));
    }
    let mut rng = Rng(seed);
    for _ in 0..260 {
        let mut d = base();
        let mut names = Vec::new();
        for _ in 0..=rng.below(3) {
            let (name, m) = mutations[rng.below(mutations.len())];
            if d.is_object() {
                m(&mut d);
                names.push(name);
            }
        }
        docs.push((names.join("+"), d));
    }
    docs
}
