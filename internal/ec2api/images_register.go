package ec2api

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"regexp"
	"unicode/utf8"

	"github.com/insitu-cloud/insitu/internal/auth"
	"github.com/insitu-cloud/insitu/internal/store"
)

// imageName is EC2's rule for AMI names: 3 to 128 letters, digits,
// spaces and ( ) [ ] . / - ' @ _.
var imageName = regexp.MustCompile(`^[A-Za-z0-9()\[\] ./\-'@_]{3,128}$`)

// registerArgs are the parameters of RegisterImage.
type registerArgs struct {
	name, location, description string
	tags                        []Tag
}

func parseRegister(c *call) (registerArgs, error) {
	var a registerArgs
	var err error
	if a.name, err = c.p.Required("Name"); err != nil {
		return a, err
	}
	if !imageName.MatchString(a.name) {
		return a, errInvalid("Invalid AMI name '%s': 3 to 128 characters of letters, numbers, spaces and ( ) [ ] . / - ' @ _.", a.name)
	}
	if a.location, err = c.p.Required("ImageLocation"); err != nil {
		return a, err
	}
	a.description = c.p["Description"]
	if utf8.RuneCountInString(a.description) > 255 || !utf8.ValidString(a.description) {
		return a, errInvalid("The Description must be at most 255 characters of UTF-8.")
	}
	if arch := c.p["Architecture"]; arch != "" && arch != "x86_64" {
		return a, errInvalid("Value (%s) for parameter Architecture is invalid. Only x86_64 is supported.", arch)
	}
	a.tags, err = c.p.specTags("image")
	return a, err
}

type registerImageResp struct {
	Meta
	ImageID string `xml:"imageId"`
}

// registerImage registers the image whose manifest is the object
// ImageLocation (BUCKET/PREFIX/manifest.json) in a bucket the caller
// owns: it reads the manifest, then each file it names once to pin its
// size and SHA-256, and stores the image, state available.
func (h *Handler) registerImage(c *call) (Response, error) {
	a, err := parseRegister(c)
	if err != nil {
		return nil, err
	}
	if h.cfg.Objects == nil {
		return nil, errorf(http.StatusBadRequest, "UnsupportedOperation", "This node has no object store to read images from.")
	}
	bucket, key, err := splitLocation(a.location)
	if err != nil {
		return nil, err
	}
	m, err := h.readManifest(c, bucket, key)
	if err != nil {
		return nil, err
	}
	img := Image{ID: newID("ami-"), Name: a.name, Description: a.description, OwnerID: c.account, Location: a.location,
		State: imageAvailable, Architecture: "x86_64", Created: h.cfg.Now().UTC(), Cmdline: m.Cmdline}
	files := []struct {
		dst  *ImageFile
		name string
	}{{&img.Kernel, m.Kernel}, {&img.Initrd, m.Initrd}, {&img.Root, m.Root}}
	dir := manifestDir(key)
	for _, f := range files {
		if f.name != "" {
			*f.dst = ImageFile{Bucket: bucket, Key: dir + f.name}
			if err := h.headImageFile(c, a.location, *f.dst); err != nil {
				return nil, err
			}
		}
	}
	if c.dryRun {
		if _, err := h.cfg.KV.Get(c.ctx, imageNameKey(c.account, a.name)); err == nil {
			return nil, errImageDuplicate(a.name)
		}
		return nil, errDryRun()
	}
	for _, f := range files {
		if f.name != "" {
			if *f.dst, err = h.pinImageFile(c, a.location, *f.dst); err != nil {
				return nil, err
			}
		}
	}
	if err := h.storeImage(c, img, a.tags); err != nil {
		return nil, err
	}
	return &registerImageResp{ImageID: img.ID}, nil
}

// readManifest checks that the caller owns bucket (auth.OwnsBucket, the
// one ownership check) and reads and parses the manifest key.
func (h *Handler) readManifest(c *call, bucket, key string) (imageManifest, error) {
	location := bucket + "/" + key
	err := auth.OwnsBucket(c.ctx, h.cfg.Objects, c.account, bucket)
	if errors.Is(err, auth.ErrNotOwner) || errors.Is(err, store.ErrNoSuchBucket) {
		return imageManifest{}, errInvalid("Invalid ImageLocation '%s': the bucket %s does not exist or is not yours.", location, bucket)
	}
	if err != nil {
		return imageManifest{}, err
	}
	_, rc, err := h.cfg.Objects.GetObject(c.ctx, bucket, key, nil)
	if errors.Is(err, store.ErrNoSuchKey) {
		return imageManifest{}, errInvalid("Invalid ImageLocation '%s': no such object.", location)
	}
	if err != nil {
		return imageManifest{}, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxManifest+1))
	if err != nil {
		return imageManifest{}, err
	}
	if len(b) > maxManifest {
		return imageManifest{}, errInvalid("The manifest %s is larger than %d bytes.", location, maxManifest)
	}
	return parseManifest(location, b)
}

func errNoImageFile(location string, f ImageFile) *Error {
	return errInvalid("The manifest %s names %s/%s, which does not exist.", location, f.Bucket, f.Key)
}

// headImageFile checks that a file the manifest names exists.
func (h *Handler) headImageFile(c *call, location string, f ImageFile) error {
	_, err := h.cfg.Objects.HeadObject(c.ctx, f.Bucket, f.Key)
	if errors.Is(err, store.ErrNoSuchKey) {
		return errNoImageFile(location, f)
	}
	return err
}

// pinImageFile reads one file of the image whole, returning it with its
// size and SHA-256.
func (h *Handler) pinImageFile(c *call, location string, f ImageFile) (ImageFile, error) {
	_, rc, err := h.cfg.Objects.GetObject(c.ctx, f.Bucket, f.Key, nil)
	if errors.Is(err, store.ErrNoSuchKey) {
		return f, errNoImageFile(location, f)
	}
	if err != nil {
		return f, err
	}
	defer rc.Close()
	sum := sha256.New()
	if f.Size, err = io.Copy(sum, rc); err != nil {
		return f, err
	}
	f.SHA256 = hex.EncodeToString(sum.Sum(nil))
	return f, nil
}
