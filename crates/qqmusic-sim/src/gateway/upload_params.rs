//! The param shapes of InitUpload and FinishUpload (docs/protocol.md section 5),
//! and the ObjectKey the simulator assigns.

use serde_json::Value;
use sha1::{Digest, Sha1};

/// The only BusID section 5 knows.
pub const BUS_ID: &str = "songlist";
/// Most files (or results) one call may carry.
pub const MAX_FILES: usize = 20;
const MAX_FILE_NAME: usize = 255;
const MAX_EXT: usize = 16;

/// One valid `Files` entry of InitUpload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSpec {
    /// Lower-case.
    pub sha1: String,
    pub size: u64,
    /// Lower-case, without the dot.
    pub ext: String,
}

impl FileSpec {
    /// `songlist/p/<shard>/<sha1>_<size hex>.<ext>`, all lower-case, as in
    /// section 5's observed keys. The shard is opaque to clients: the first
    /// five hex chars of SHA1 of the sha1 text, so it is stable per file.
    pub fn object_key(&self) -> String {
        let shard: String = hex::encode(Sha1::digest(self.sha1.as_bytes()))
            .chars()
            .take(5)
            .collect();
        format!(
            "songlist/p/{shard}/{}_{:x}.{}",
            self.sha1, self.size, self.ext
        )
    }
}

/// One valid `Results` entry of FinishUpload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageRef {
    pub bucket: String,
    pub region: String,
    pub key: String,
}

fn bus_and_list<'a>(param: &'a Value, list: &str) -> Option<&'a Vec<Value>> {
    if param.get("BusID")?.as_str()? != BUS_ID {
        return None;
    }
    let items = param.get(list)?.as_array()?;
    (1..=MAX_FILES).contains(&items.len()).then_some(items)
}

/// `{"BusID":"songlist","Files":[{"FileSha1","FileName","FileSize"}, ..]}`:
/// 1..=20 files, FileSha1 40 hex chars (either case), FileSize a positive
/// integer, FileName 1..=255 bytes ending in `.<1..=16 ASCII alphanumerics>`.
/// Other keys are ignored. None when anything is off.
pub fn parse_init(param: &Value) -> Option<Vec<FileSpec>> {
    bus_and_list(param, "Files")?
        .iter()
        .map(parse_file)
        .collect()
}

fn parse_file(file: &Value) -> Option<FileSpec> {
    let sha1 = file.get("FileSha1")?.as_str()?;
    if sha1.len() != 40 || !sha1.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let size = file.get("FileSize")?.as_u64().filter(|&n| n > 0)?;
    let name = file.get("FileName")?.as_str()?;
    if name.len() > MAX_FILE_NAME {
        return None;
    }
    let (_, ext) = name.rsplit_once('.')?;
    if ext.is_empty() || ext.len() > MAX_EXT || !ext.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    Some(FileSpec {
        sha1: sha1.to_ascii_lowercase(),
        size,
        ext: ext.to_ascii_lowercase(),
    })
}

/// `{"BusID":"songlist","Results":[{"Storage":{"Bucket":{"Name","Region"},
/// "ObjectKey"},"UploadResult":<int>}, ..]}`: 1..=20 results, strings
/// non-empty. None when anything is off.
pub fn parse_finish(param: &Value) -> Option<Vec<StorageRef>> {
    bus_and_list(param, "Results")?
        .iter()
        .map(parse_result)
        .collect()
}

fn parse_result(result: &Value) -> Option<StorageRef> {
    result.get("UploadResult")?.as_i64()?;
    let storage = result.get("Storage")?;
    let bucket = storage.get("Bucket")?;
    let text = |v: &Value, k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    Some(StorageRef {
        bucket: text(bucket, "Name")?,
        region: text(bucket, "Region")?,
        key: text(storage, "ObjectKey")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SHA1: &str = "4FBFBC28BBC4A67850FA90823FCEA389FCFCD48D";

    fn init(files: Value) -> Value {
        json!({"BusID": "songlist", "Files": files})
    }

    #[test]
    fn the_documented_init_param_gives_the_observed_key_layout() {
        let p = init(json!([{"FileSha1": SHA1, "FileName": "cover.PNG", "FileSize": 51458}]));
        let files = parse_init(&p).unwrap_or_default();
        assert_eq!(files.len(), 1);
        let key = files.first().map(FileSpec::object_key).unwrap_or_default();
        let (dir, last) = key.rsplit_once('/').unwrap_or_default();
        assert_eq!(last, "4fbfbc28bbc4a67850fa90823fcea389fcfcd48d_c902.png");
        let shard = dir.strip_prefix("songlist/p/").unwrap_or_default();
        assert_eq!(shard.len(), 5, "{key}");
        assert!(shard
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    }

    #[test]
    fn each_bad_init_shape_is_refused() {
        let file = |sha1: Value, name: Value, size: Value| {
            init(json!([{"FileSha1": sha1, "FileName": name, "FileSize": size}]))
        };
        let bad = [
            json!({"BusID": "avatar", "Files": [{"FileSha1": SHA1, "FileName": "a.png", "FileSize": 1}]}),
            init(json!([])),
            init(json!("not a list")),
            file(json!(&SHA1[..39]), json!("a.png"), json!(1)),
            file(json!(SHA1.replace('F', "g")), json!("a.png"), json!(1)),
            file(json!(SHA1), json!("a.png"), json!(0)),
            file(json!(SHA1), json!("a.png"), json!(-5)),
            file(json!(SHA1), json!("a.png"), json!(1.5)),
            file(json!(SHA1), json!("a.png"), json!("51458")),
            file(json!(SHA1), json!("noext"), json!(1)),
            file(json!(SHA1), json!("trailing."), json!(1)),
            file(json!(SHA1), json!("a.p/g"), json!(1)),
            file(
                json!(SHA1),
                json!(format!("{}.png", "x".repeat(300))),
                json!(1),
            ),
            json!({"Files": [{"FileSha1": SHA1, "FileName": "a.png", "FileSize": 1}]}),
        ];
        for p in bad {
            assert_eq!(parse_init(&p), None, "{p}");
        }
        let many: Vec<Value> = (0..=MAX_FILES)
            .map(|_| json!({"FileSha1": SHA1, "FileName": "a.png", "FileSize": 1}))
            .collect();
        assert_eq!(parse_init(&init(json!(many))), None);
    }

    #[test]
    fn finish_needs_bucket_name_region_key_and_an_integer_result() {
        let good = json!({"BusID": "songlist", "Results": [{"Storage": {"Bucket":
            {"Name": "b", "Region": "r"}, "ObjectKey": "k"}, "UploadResult": 0}]});
        assert_eq!(
            parse_finish(&good),
            Some(vec![StorageRef {
                bucket: "b".into(),
                region: "r".into(),
                key: "k".into()
            }])
        );
        for (ptr, v) in [
            ("/Results/0/UploadResult", json!("0")),
            ("/Results/0/Storage/ObjectKey", json!("")),
            ("/Results/0/Storage/Bucket", json!("b")),
            ("/BusID", json!("other")),
        ] {
            let mut p = good.clone();
            if let Some(slot) = p.pointer_mut(ptr) {
                *slot = v;
            }
            assert_eq!(parse_finish(&p), None, "{p}");
        }
    }
}
