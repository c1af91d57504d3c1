//! Default locations of the bundled data (relative to the working directory,
//! falling back to the source tree the tool was built from).

use std::path::PathBuf;

/// Resolves a path inside the project tree (e.g. `data/mnist/...`).
pub fn project_path(rel: &str) -> PathBuf {
    let here = PathBuf::from(rel);
    if here.exists() {
        return here;
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The bundled reference model.
pub fn reference_model() -> PathBuf {
    project_path("data/reference/tbn_mnist_mlp_p4.json")
}

/// The bundled MNIST test images.
pub fn test_images() -> PathBuf {
    project_path("data/mnist/t10k-images-idx3-ubyte.gz")
}

/// The bundled MNIST test labels.
pub fn test_labels() -> PathBuf {
    project_path("data/mnist/t10k-labels-idx1-ubyte.gz")
}

/// The bundled MNIST training subset (images).
pub fn train_images() -> PathBuf {
    project_path("data/mnist/train10k-images-idx3-ubyte.gz")
}

/// The bundled MNIST training subset (labels).
pub fn train_labels() -> PathBuf {
    project_path("data/mnist/train10k-labels-idx1-ubyte.gz")
}
