//! [`Obj`]: one indexed object, its identity (kind, namespace, name, uid) and its
//! value, with the accessors rules read it through.

use chrono::{DateTime, Utc};

use crate::explain::finding::{Evidence, ObjectRef};
use crate::explain::tree::Value;
use crate::explain::value::{self, arr_at, get, str_at};

/// One indexed object: identity plus the raw value.
#[derive(Debug, Clone)]
pub struct Obj {
    /// Position in the index; stable for the life of the index.
    pub id: usize,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    pub uid: Option<String>,
    pub value: Value,
}

impl Obj {
    /// The value at a dotted path of this object.
    pub fn get(&self, path: &str) -> Option<&Value> {
        get(&self.value, path)
    }
    /// The string at a dotted path of this object.
    pub fn str(&self, path: &str) -> Option<&str> {
        str_at(&self.value, path)
    }
    /// The array at a dotted path of this object (empty when absent).
    pub fn arr(&self, path: &str) -> &[Value] {
        arr_at(&self.value, path)
    }
    /// `status.conditions[type=<ty>]`.
    pub fn condition(&self, ty: &str) -> Option<&Value> {
        value::condition(&self.value, ty)
    }
    /// `{kind, namespace, name}` of this object.
    pub fn object_ref(&self) -> ObjectRef {
        ObjectRef {
            kind: self.kind.clone(),
            namespace: self.namespace.clone(),
            name: self.name.clone(),
        }
    }
    /// `Kind/name`, as used in evidence.
    pub fn display(&self) -> String {
        format!("{}/{}", self.kind, self.name)
    }
    /// Evidence naming a field of this object and its value.
    pub fn field(&self, field: impl Into<String>, value: impl ToString) -> Evidence {
        Evidence::field(self.display(), field, value)
    }
    /// `-n <ns> ` for kubectl commands (empty for cluster-scoped objects).
    pub fn ns_flag(&self) -> String {
        self.namespace
            .as_deref()
            .map(|n| format!(" -n {n}"))
            .unwrap_or_default()
    }
    /// `metadata.creationTimestamp`.
    pub fn created(&self) -> Option<DateTime<Utc>> {
        value::time_at(&self.value, "metadata.creationTimestamp")
    }
    /// `metadata.labels` (null when absent).
    pub fn labels(&self) -> &Value {
        self.get("metadata.labels").unwrap_or(&Value::Null)
    }
}
