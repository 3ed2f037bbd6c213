//! Writes the seed corpora: `seed_corpus OUT_DIR FILE...` puts every file into
//! `OUT_DIR/decode_json/` as it is and, when it parses as a request, its prost encoding into
//! `OUT_DIR/decode_proto/`. File names are the inputs' names, so re-running overwrites.

use std::path::Path;

use prost::Message;
use theatre_optimiser::api::proto as pb;

fn main() {
    let mut args = std::env::args().skip(1);
    let out = args.next().expect("usage: seed_corpus OUT_DIR FILE...");
    let out = Path::new(&out);
    let (json_dir, proto_dir) = (out.join("decode_json"), out.join("decode_proto"));
    std::fs::create_dir_all(&json_dir).unwrap();
    std::fs::create_dir_all(&proto_dir).unwrap();
    let (mut json, mut proto) = (0, 0);
    for file in args {
        let path = Path::new(&file);
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(path).unwrap();
        std::fs::write(json_dir.join(&name), &bytes).unwrap();
        json += 1;
        if let Ok(request) = serde_json::from_slice::<pb::ProposeAllocationsRequest>(&bytes) {
            std::fs::write(proto_dir.join(&name), request.encode_to_vec()).unwrap();
            proto += 1;
        }
    }
    println!(
        "seeded {json} JSON and {proto} protobuf inputs into {}",
        out.display()
    );
}
