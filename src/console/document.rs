//! The case-worker document of stored Fachdaten ([`crate::xoev::render`]): the pack found by
//! the root element, its grammar from the cache the pipeline shares, its code lists loaded
//! once per pack. Used by the console's `document.html` and, through the composition root,
//! by upstreams with `rendering = true`. JSON Fachdaten (FIM JSON Schema packs) are not kept
//! beside the envelope: they are its `data`, rendered with the pack that provides the
//! envelope's `message.schemaUri` ([`DocumentRenderer::render_json`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::config::Limits;
use crate::pipeline::{GrammarCache, GrammarSource as _};
use crate::xoev::codelist::CodeLists;
use crate::xoev::registry::Registry;

/// Renders stored Fachdaten as the case-worker document. Cheap to share (`Arc`).
pub struct DocumentRenderer {
    registry: Arc<Registry<'static>>,
    grammars: GrammarCache,
    codelists: Mutex<HashMap<String, Arc<CodeLists>>>,
    limits: Limits,
}

impl std::fmt::Debug for DocumentRenderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocumentRenderer")
            .field("packs", &self.registry.packs().len())
            .finish_non_exhaustive()
    }
}

impl DocumentRenderer {
    /// Renders with these packs, compiling grammars into `grammars` (pass the pipeline's, so
    /// each schema is compiled once).
    #[must_use]
    pub fn new(registry: Registry<'static>, grammars: GrammarCache, limits: Limits) -> Self {
        Self {
            registry: Arc::new(registry),
            grammars,
            codelists: Mutex::new(HashMap::new()),
            limits,
        }
    }

    /// The packs.
    #[must_use]
    pub fn registry(&self) -> &Registry<'static> {
        &self.registry
    }

    /// Renders stored Fachdaten with the pack their root element names (validated again on
    /// the way; compiled and rendered on a blocking thread).
    ///
    /// # Errors
    /// Why there is no page, in German for the reader (no values of the document).
    pub async fn render(&self, data: Vec<u8>) -> Result<String, &'static str> {
        let docs = self;
        const NO_PACK: &str = "Für diese Nachricht ist kein Schemapaket installiert.";
        let root = crate::xoev::root::document_root(&data[..], &docs.limits.xml)
            .map_err(|_| "Die gespeicherten Fachdaten sind kein lesbares XML.")?;
        let resolved = docs
            .registry
            .resolve(&root.namespace, &root.local)
            .map_err(|_| NO_PACK)?;
        let label = format!(
            "{} {} {}",
            resolved.message.standard, resolved.message.version, root.local
        );
        let pack_id = resolved.pack.id.clone();
        let codelist_files = resolved.pack.codelists.clone();
        let grammars = docs.grammars.clone();
        let limits = docs.limits.clone();
        // The grammar cache keys by entry file; resolving again on the blocking thread keeps
        // the registry's borrow out of the task.
        let registry = Arc::clone(&docs.registry);
        let cached = docs
            .codelists
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&pack_id)
            .cloned();
        let (ns, local) = (root.namespace, root.local);
        let rendered = tokio::task::spawn_blocking(move || {
            let resolved = registry.resolve(&ns, &local).map_err(|_| NO_PACK)?;
            let grammar = grammars
                .grammar(&resolved, &limits)
                .map_err(|_| "Das Schemapaket dieser Nachricht lässt sich nicht übersetzen.")?;
            let lists = match cached {
                Some(l) => l,
                // Code names are a courtesy: lists that do not load leave codes unnamed.
                None => Arc::new(CodeLists::load(&codelist_files, &limits.xml).unwrap_or_default()),
            };
            let context = crate::xoev::render::RenderContext {
                message: &label,
                codelists: Some(&lists),
            };
            let page = crate::xoev::render::document_html(&grammar, &data, &limits, &context)
                .map_err(|e| match e {
                    crate::xoev::render::RenderError::TooLarge(_) => {
                        "Die Nachricht ist zu groß für die Darstellung."
                    }
                    _ => "Die gespeicherten Fachdaten sind nicht schemagültig.",
                })?;
            Ok::<_, &'static str>((page, lists))
        })
        .await
        .map_err(|_| "Die Darstellung ist fehlgeschlagen.")??;
        let (page, lists) = rendered;
        docs.codelists
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(pack_id)
            .or_insert(lists);
        Ok(page)
    }

    /// Renders the JSON Fachdaten of a stored envelope (its `data`, described by the schema its
    /// `message.schemaUri` names) with the JSON pack that provides that schema (on a blocking
    /// thread). `None` when the envelope carries no JSON Fachdaten.
    ///
    /// # Errors
    /// Why there is no page, in German for the reader (no values of the document).
    pub async fn render_json(&self, envelope: String) -> Option<Result<String, &'static str>> {
        let registry = Arc::clone(&self.registry);
        tokio::task::spawn_blocking(move || {
            let env: serde_json::Value = serde_json::from_str(&envelope).ok()?;
            let uri = env.get("message")?.get("schemaUri")?.as_str()?;
            let data = env.get("data")?;
            let Ok(crate::xoev::registry::JsonSchemaSource::Pack(loaded)) =
                registry.resolve_json(uri)
            else {
                return Some(Err(
                    "Für diese Nachricht ist kein JSON-Schemapaket installiert.",
                ));
            };
            let label = format!("JSON-Fachdaten nach {uri}");
            let context = crate::xoev::render::RenderContext {
                message: &label,
                codelists: None,
            };
            Some(
                crate::xoev::render::json_document_html(&loaded.pack, uri, data, &context)
                    .map_err(|_| "Die Nachricht ist zu groß für die Darstellung."),
            )
        })
        .await
        .unwrap_or(Some(Err("Die Darstellung ist fehlgeschlagen.")))
    }
}
