// Package images is a node's cache of machine image files: the kernel,
// initrd and root disk of an ec2api.Image, read once from the object store
// into DATA/images/<sha256> and checked against the size and SHA-256 the
// image was registered with, so every instance of an image on the node
// boots from one local, verified, read-only copy.
//
// Files are kept by content, so two images sharing a kernel share its
// file; nothing is evicted (a file is small next to the instances using
// it; removing DATA/images by hand while no instance runs is safe).
package images
