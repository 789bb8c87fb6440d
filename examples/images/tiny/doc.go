// Package tiny holds the test that boots the "tiny" guest image with plain
// QEMU (no insitu): build.sh builds the image from Debian packages (`make
// images`), guest/ holds the scripts it boots with. The package has no
// code of its own.
package tiny
