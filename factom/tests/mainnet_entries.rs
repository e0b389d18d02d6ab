//! Every entry hash of the two MainNet test blocks recomputed from (MainNet OPR chain, ExtIDs,
//! content).

use factom::{opr_chain_id, Entry};

#[test]
fn entry_hashes_of_mainnet_blocks() {
    let chain = opr_chain_id("MainNet");
    assert_eq!(
        hex::encode(chain),
        "a642a8674f46696cc47fdb6b65f9c87b2a19c5ea8123b3d2f0c13b6f33a9d5ef"
    );
    let mut n = 0;
    for name in ["block-206422.json", "block-210330.json"] {
        let path = format!("{}/../testdata/pegnet/{name}", env!("CARGO_MANIFEST_DIR"));
        let block = pegnet::block_file::read(std::path::Path::new(&path)).unwrap();
        for e in block.entries {
            let entry = Entry {
                chain_id: chain,
                ext_ids: e.ext_ids,
                content: e.content,
            };
            assert_eq!(entry.hash().unwrap().to_vec(), e.hash);
            assert_eq!(entry.cost().unwrap(), 1, "an OPR entry costs 1 EC");
            n += 1;
        }
    }
    assert_eq!(n, 696);
}

#[test]
fn pegnet_chain_ids() {
    for (net, id) in [
        (
            "MainNet",
            "a642a8674f46696cc47fdb6b65f9c87b2a19c5ea8123b3d2f0c13b6f33a9d5ef",
        ),
        (
            "TestNet-pM7",
            "332d2649a1524918c0071ab4deb06c7e20a471193047d6046115a147a5b9651c",
        ),
        (
            "unit-test",
            "6b1281c5ada8d536eca462440e498d3b9f973928dc0875f2cb912aa4cca9646c",
        ),
    ] {
        assert_eq!(hex::encode(opr_chain_id(net)), id);
    }
}
