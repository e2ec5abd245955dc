//! The parts of `template.yaml` the local stack needs: HTTP routes, CORS, the table definition,
//! queues, bucket and secrets.

use std::collections::BTreeMap;
use std::path::Path;

use serde_yaml::Value;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum TemplateError {
    #[error("cannot read {0}: {1}")]
    Read(String, std::io::Error),
    #[error("template.yaml is not valid YAML: {0}")]
    Yaml(#[from] serde_yaml::Error),
    #[error("template.yaml: {0}")]
    Shape(String),
}

/// One `HttpApi` event of a function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Upper-case method, or `ANY`.
    pub method: String,
    /// The path template, e.g. `/api/v1/auth/login/` or `/{proxy+}`.
    pub path: String,
    /// The function's logical id in the template.
    pub function: String,
    /// The cargo binary that implements it (`Metadata.BuildProperties.Binary`).
    pub binary: String,
    /// The HTTP API's Lambda authorizer in front of it (`Auth.Authorizer`), by name.
    pub authorizer: Option<String>,
}

/// A Lambda authorizer of the HTTP API (`Auth.Authorizers.<name>`): payload 2.0, simple responses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorizer {
    pub name: String,
    /// The cargo binary of the function its `FunctionArn` names.
    pub binary: String,
    /// The request headers its identity is made of (lower case): a request without one of them
    /// is refused before the authorizer runs.
    pub identity_headers: Vec<String>,
    /// How long an answer is cached for the same identity (`ReauthorizeEvery`, seconds).
    pub cache_seconds: u64,
}

/// The HTTP API's CORS configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cors {
    pub allow_origins: Vec<String>,
    pub allow_headers: Vec<String>,
    pub allow_methods: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyAttr {
    pub name: String,
    /// `HASH` or `RANGE`.
    pub key_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    pub name: String,
    pub keys: Vec<KeyAttr>,
}

/// The DynamoDB table definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// Attribute name → type (`S`, `N`, `B`).
    pub attributes: Vec<(String, String)>,
    pub keys: Vec<KeyAttr>,
    pub global_indexes: Vec<Index>,
    pub ttl_attribute: Option<String>,
}

/// An SQS queue; `dead_letter` names the logical id of its DLQ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queue {
    pub logical_id: String,
    pub visibility_timeout: Option<u64>,
    pub dead_letter: Option<(String, u64)>,
}

/// A function fed by an SQS queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqsWorker {
    pub binary: String,
    /// The queue's logical id.
    pub queue: String,
    pub batch_size: i32,
    /// The function's `Timeout` (seconds): each delivery's deadline.
    pub timeout_seconds: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub routes: Vec<Route>,
    pub authorizers: Vec<Authorizer>,
    pub sqs_workers: Vec<SqsWorker>,
    pub cors: Cors,
    pub table: Table,
    pub queues: Vec<Queue>,
    pub buckets: Vec<String>,
    pub secrets: Vec<String>,
}

fn get<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    value.as_mapping()?.get(key)
}

fn string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value.and_then(Value::as_sequence).map(|seq| seq.iter().filter_map(string).collect()).unwrap_or_default()
}

/// `!Ref Param` → the parameter's default (the local stack deploys with defaults).
fn resolve_ref_list(value: Option<&Value>, parameters: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Tagged(tagged)) if tagged.tag == "Ref" => {
            let name = string(&tagged.value).unwrap_or_default();
            parameters
                .and_then(|p| get(p, &name))
                .and_then(|p| get(p, "Default"))
                .and_then(string)
                .map(|d| d.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect())
                .unwrap_or_default()
        }
        other => strings(other),
    }
}

/// One `Auth.Authorizers` entry and the logical id of its function. Only what the local gateway
/// emulates is accepted: payload 2.0, simple responses, header identity sources.
fn authorizer(name: String, def: &Value) -> Result<(Authorizer, String), TemplateError> {
    let shape = |what: &str| TemplateError::Shape(format!("authorizer {name}: {what}"));
    let function = match get(def, "FunctionArn") {
        Some(Value::Tagged(t)) if t.tag == "GetAtt" => {
            string(&t.value).and_then(|f| f.strip_suffix(".Arn").map(str::to_owned))
        }
        _ => None,
    }
    .ok_or_else(|| shape("FunctionArn must be !GetAtt <function>.Arn"))?;
    if get(def, "AuthorizerPayloadFormatVersion").and_then(string).as_deref() != Some("2.0") {
        return Err(shape("AuthorizerPayloadFormatVersion must be \"2.0\""));
    }
    if get(def, "EnableSimpleResponses").and_then(Value::as_bool) != Some(true) {
        return Err(shape("EnableSimpleResponses must be true"));
    }
    let identity = get(def, "Identity");
    let identity_headers: Vec<String> =
        strings(identity.and_then(|i| get(i, "Headers"))).into_iter().map(|h| h.to_ascii_lowercase()).collect();
    if identity_headers.is_empty() {
        return Err(shape("Identity.Headers must name the headers of the identity"));
    }
    let cache_seconds = identity.and_then(|i| get(i, "ReauthorizeEvery")).and_then(Value::as_u64).unwrap_or(300);
    Ok((Authorizer { name, binary: String::new(), identity_headers, cache_seconds }, function))
}

fn key_schema(value: Option<&Value>) -> Vec<KeyAttr> {
    value
        .and_then(Value::as_sequence)
        .map(|seq| {
            seq.iter()
                .filter_map(|k| {
                    Some(KeyAttr { name: string(get(k, "AttributeName")?)?, key_type: string(get(k, "KeyType")?)? })
                })
                .collect()
        })
        .unwrap_or_default()
}

impl Template {
    pub fn load(path: &Path) -> Result<Self, TemplateError> {
        let text = std::fs::read_to_string(path).map_err(|e| TemplateError::Read(path.display().to_string(), e))?;
        Self::parse(&text)
    }

    /// The template at the workspace root, found from this crate's directory or the current one.
    pub fn load_default() -> Result<Self, TemplateError> {
        Self::load(&crate::names::workspace_root().join("template.yaml"))
    }

    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let doc: Value = serde_yaml::from_str(text)?;
        let parameters = get(&doc, "Parameters");
        let resources = get(&doc, "Resources")
            .and_then(Value::as_mapping)
            .ok_or_else(|| TemplateError::Shape("no Resources".into()))?;

        let mut routes = Vec::new();
        let mut sqs_workers = Vec::new();
        let mut cors = Cors::default();
        let mut table = None;
        let mut queues = Vec::new();
        let mut buckets = Vec::new();
        let mut secrets = Vec::new();
        let mut binaries = BTreeMap::new();
        // Authorizers name their function by logical id; its binary is known once all are read.
        let mut authorizer_functions = Vec::new();
        for (id, resource) in resources {
            let id = string(id).unwrap_or_default();
            let props = get(resource, "Properties");
            match get(resource, "Type").and_then(string).as_deref() {
                Some("AWS::Serverless::Function") => {
                    let binary = get(resource, "Metadata")
                        .and_then(|m| get(m, "BuildProperties"))
                        .and_then(|b| get(b, "Binary"))
                        .and_then(string)
                        .ok_or_else(|| TemplateError::Shape(format!("{id} has no Metadata.BuildProperties.Binary")))?;
                    binaries.insert(id.clone(), binary.clone());
                    let events = props.and_then(|p| get(p, "Events")).and_then(Value::as_mapping);
                    for event in events.into_iter().flat_map(|m| m.values()) {
                        if get(event, "Type").and_then(string).as_deref() == Some("SQS") {
                            let p = get(event, "Properties");
                            let queue = match p.and_then(|p| get(p, "Queue")) {
                                Some(Value::Tagged(t)) if t.tag == "GetAtt" => {
                                    string(&t.value).and_then(|q| q.split('.').next().map(str::to_owned))
                                }
                                _ => None,
                            };
                            let queue = queue.ok_or_else(|| {
                                TemplateError::Shape(format!("{id}: an SQS event needs Queue: !GetAtt <queue>.Arn"))
                            })?;
                            let batch_size =
                                p.and_then(|p| get(p, "BatchSize")).and_then(Value::as_i64).unwrap_or(10) as i32;
                            // Every worker states its own timeout (the API functions' global one is
                            // not a worker's).
                            let timeout_seconds =
                                props.and_then(|p| get(p, "Timeout")).and_then(Value::as_u64).ok_or_else(|| {
                                    TemplateError::Shape(format!("{id}: an SQS worker states its Timeout"))
                                })?;
                            sqs_workers.push(SqsWorker { binary: binary.clone(), queue, batch_size, timeout_seconds });
                            continue;
                        }
                        if get(event, "Type").and_then(string).as_deref() != Some("HttpApi") {
                            continue;
                        }
                        let p = get(event, "Properties");
                        let path = p.and_then(|p| get(p, "Path")).and_then(string);
                        let method = p.and_then(|p| get(p, "Method")).and_then(string);
                        let (Some(path), Some(method)) = (path, method) else {
                            return Err(TemplateError::Shape(format!("{id}: an HttpApi event needs Path and Method")));
                        };
                        let authorizer =
                            p.and_then(|p| get(p, "Auth")).and_then(|a| get(a, "Authorizer")).and_then(string);
                        routes.push(Route {
                            method: method.to_uppercase(),
                            path,
                            function: id.clone(),
                            binary: binary.clone(),
                            authorizer,
                        });
                    }
                }
                Some("AWS::Serverless::HttpApi") => {
                    let defined = props.and_then(|p| get(p, "Auth")).and_then(|a| get(a, "Authorizers"));
                    for (name, def) in defined.and_then(Value::as_mapping).into_iter().flatten() {
                        authorizer_functions.push(authorizer(string(name).unwrap_or_default(), def)?);
                    }
                    if let Some(c) = props.and_then(|p| get(p, "CorsConfiguration")) {
                        cors = Cors {
                            allow_origins: resolve_ref_list(get(c, "AllowOrigins"), parameters),
                            allow_headers: strings(get(c, "AllowHeaders")),
                            allow_methods: strings(get(c, "AllowMethods")),
                            expose_headers: strings(get(c, "ExposeHeaders")),
                            max_age: get(c, "MaxAge").and_then(Value::as_u64),
                        };
                    }
                }
                Some("AWS::DynamoDB::Table") => {
                    let p = props.ok_or_else(|| TemplateError::Shape(format!("{id} has no Properties")))?;
                    let attributes = get(p, "AttributeDefinitions")
                        .and_then(Value::as_sequence)
                        .map(|seq| {
                            seq.iter()
                                .filter_map(|a| {
                                    Some((string(get(a, "AttributeName")?)?, string(get(a, "AttributeType")?)?))
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    let global_indexes = get(p, "GlobalSecondaryIndexes")
                        .and_then(Value::as_sequence)
                        .map(|seq| {
                            seq.iter()
                                .filter_map(|i| {
                                    Some(Index {
                                        name: string(get(i, "IndexName")?)?,
                                        keys: key_schema(get(i, "KeySchema")),
                                    })
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    let ttl_attribute = get(p, "TimeToLiveSpecification")
                        .filter(|t| get(t, "Enabled").and_then(Value::as_bool) == Some(true))
                        .and_then(|t| get(t, "AttributeName"))
                        .and_then(string);
                    table = Some(Table {
                        attributes,
                        keys: key_schema(get(p, "KeySchema")),
                        global_indexes,
                        ttl_attribute,
                    });
                }
                Some("AWS::SQS::Queue") => {
                    let dead_letter = props.and_then(|p| get(p, "RedrivePolicy")).and_then(|r| {
                        let target = match get(r, "deadLetterTargetArn")? {
                            Value::Tagged(t) if t.tag == "GetAtt" => string(&t.value)?.split('.').next()?.to_owned(),
                            _ => return None,
                        };
                        Some((target, get(r, "maxReceiveCount").and_then(Value::as_u64).unwrap_or(3)))
                    });
                    let visibility_timeout = props.and_then(|p| get(p, "VisibilityTimeout")).and_then(Value::as_u64);
                    queues.push(Queue { logical_id: id.clone(), visibility_timeout, dead_letter });
                }
                Some("AWS::S3::Bucket") => buckets.push(id.clone()),
                Some("AWS::SecretsManager::Secret") => secrets.push(id.clone()),
                _ => {}
            }
        }
        let table = table.ok_or_else(|| TemplateError::Shape("no AWS::DynamoDB::Table".into()))?;
        let authorizers = authorizer_functions
            .into_iter()
            .map(|(mut authorizer, function)| {
                authorizer.binary = binaries.get(&function).cloned().ok_or_else(|| {
                    TemplateError::Shape(format!("authorizer {} names {function}, not a function", authorizer.name))
                })?;
                Ok(authorizer)
            })
            .collect::<Result<Vec<_>, TemplateError>>()?;
        if let Some(r) =
            routes.iter().find(|r| r.authorizer.as_ref().is_some_and(|a| !authorizers.iter().any(|x| &x.name == a)))
        {
            return Err(TemplateError::Shape(format!(
                "{} {} names an authorizer the HTTP API does not define",
                r.method, r.path
            )));
        }
        Ok(Self { routes, authorizers, sqs_workers, cors, table, queues, buckets, secrets })
    }
}

/// Logical ids in the template that the code refers to.
pub mod logical_ids {
    pub const JWT_SIGNING_KEY: &str = "JwtSigningKey";
    pub const AI_JOBS_QUEUE: &str = "AiJobsQueue";
    pub const IMAGE_JOBS_QUEUE: &str = "ImageJobsQueue";
    pub const PURGE_QUEUE: &str = "PurgeQueue";
    pub const PUBLISH_QUEUE: &str = "PublishQueue";
    pub const AUTOMATION_QUEUE: &str = "AutomationQueue";
    pub const IMAGES_BUCKET: &str = "ImagesBucket";
}

/// Groups routes by function, for printing.
pub fn routes_by_function(routes: &[Route]) -> BTreeMap<&str, Vec<&Route>> {
    let mut map: BTreeMap<&str, Vec<&Route>> = BTreeMap::new();
    for r in routes {
        map.entry(r.function.as_str()).or_default().push(r);
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_authorizer_the_gateway_cannot_emulate_is_refused() {
        let template = |authorizer: &str, route_auth: &str| {
            format!(
                "Resources:\n  Api:\n    Type: AWS::Serverless::HttpApi\n    Properties:\n      Auth:\n        Authorizers:\n          Keys:\n{authorizer}\n  Fn:\n    Type: AWS::Serverless::Function\n    Metadata: {{ BuildProperties: {{ Binary: fn }} }}\n    Properties:\n      Events:\n        E:\n          Type: HttpApi\n          Properties: {{ Path: /a/, Method: GET{route_auth} }}\n  Table:\n    Type: AWS::DynamoDB::Table\n    Properties: {{}}\n"
            )
        };
        let good = "            FunctionArn: !GetAtt Fn.Arn\n            AuthorizerPayloadFormatVersion: \"2.0\"\n            EnableSimpleResponses: true\n            Identity: { Headers: [Authorization], ReauthorizeEvery: 60 }";
        let parsed = Template::parse(&template(good, ", Auth: { Authorizer: Keys }")).unwrap();
        assert_eq!(parsed.authorizers[0].binary, "fn");
        assert_eq!(parsed.authorizers[0].cache_seconds, 60);
        assert_eq!(parsed.routes[0].authorizer.as_deref(), Some("Keys"));
        assert!(Template::parse(&template(good, ", Auth: { Authorizer: Other }")).is_err(), "an undefined authorizer");
        for bad in [
            good.replace("\"2.0\"", "\"1.0\""),
            good.replace("EnableSimpleResponses: true", "EnableSimpleResponses: false"),
            good.replace("Headers: [Authorization], ", ""),
            good.replace("!GetAtt Fn.Arn", "!GetAtt Nope.Arn"),
        ] {
            assert!(Template::parse(&template(&bad, "")).is_err(), "{bad}");
        }
    }

    #[test]
    fn reads_the_project_template() {
        let t = Template::load_default().unwrap();
        assert!(t.routes.iter().any(|r| r.method == "POST" && r.path == "/api/v1/auth/login/" && r.binary == "auth"));
        assert_eq!(t.table.keys.len(), 2);
        assert!(t.table.global_indexes.iter().any(|i| i.name == "GSI1"));
        assert_eq!(t.table.ttl_attribute.as_deref(), Some(igny8_domain::store::keys::TTL));
        assert!(t.cors.allow_origins.contains(&"http://localhost:5173".to_owned()));
        let ai = t.queues.iter().find(|q| q.logical_id == logical_ids::AI_JOBS_QUEUE).unwrap();
        assert_eq!(ai.dead_letter, Some(("AiJobsDlq".to_owned(), 3)));
        assert!(t.secrets.contains(&logical_ids::JWT_SIGNING_KEY.to_owned()));
        assert!(t.buckets.contains(&logical_ids::IMAGES_BUCKET.to_owned()));
        let plugin = t.authorizers.iter().find(|a| a.name == "PluginApiKey").unwrap();
        assert_eq!(plugin.binary, "api-key-authorizer");
        assert_eq!(plugin.identity_headers, ["authorization"]);
        assert!(plugin.cache_seconds > 0 && plugin.cache_seconds <= 300, "cached at most 5 minutes");
        let guarded: Vec<&Route> = t.routes.iter().filter(|r| r.authorizer.is_some()).collect();
        assert!(guarded.iter().all(|r| r.path.starts_with("/api/v1/integration/")), "{guarded:?}");
        assert!(guarded.iter().any(|r| r.path == "/api/v1/integration/webhooks/wordpress/status/"));
        let worker = t.sqs_workers.iter().find(|w| w.binary == "ai-worker").unwrap();
        assert_eq!(worker.queue, logical_ids::AI_JOBS_QUEUE);
    }
}
