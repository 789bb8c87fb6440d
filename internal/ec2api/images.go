package ec2api

import (
	"context"
	"errors"
	"io"
	"regexp"
	"time"

	"github.com/insitu-cloud/insitu/internal/auth"
	"github.com/insitu-cloud/insitu/internal/meta"
	"github.com/insitu-cloud/insitu/internal/store"
)

// Objects is the part of the object store RegisterImage reads: who owns
// a bucket, and objects' bytes. A store.Engine satisfies it.
type Objects interface {
	auth.BucketGetter
	HeadObject(ctx context.Context, bucket, key string) (store.ObjectInfo, error)
	GetObject(ctx context.Context, bucket, key string, rng *store.Range) (store.ObjectInfo, io.ReadCloser, error)
}

// Image is a registered machine image (meta key ec2/images/<ami id>):
// the objects its manifest named, each pinned by size and SHA-256 at
// registration, so a node's cache can tell a changed object from the one
// registered.
type Image struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	Description  string    `json:"description,omitempty"`
	OwnerID      string    `json:"owner"`
	Location     string    `json:"location"` // BUCKET/PREFIX/manifest.json as registered
	State        string    `json:"state"`    // "available"
	Architecture string    `json:"arch"`     // "x86_64"
	Public       bool      `json:"public,omitempty"`
	Created      time.Time `json:"created"`
	Cmdline      string    `json:"cmdline,omitempty"`
	Kernel       ImageFile `json:"kernel"`
	Initrd       ImageFile `json:"initrd"`
	Root         ImageFile `json:"root"` // Key "" when the image has no root disk
}

// ImageFile is one object of an image: where it is and what it was when
// the image was registered.
type ImageFile struct {
	Bucket string `json:"bucket,omitempty"`
	Key    string `json:"key,omitempty"`
	Size   int64  `json:"size,omitempty"`
	SHA256 string `json:"sha256,omitempty"` // lower-case hex
}

// Image states.
const imageAvailable = "available"

func imageKey(id string) string { return "ec2/images/" + id }

// imageNameKey keeps image names unique per account (-> the image id).
func imageNameKey(account, name string) string { return acctKey(account, "aminame", name) }

// amiID matches EC2's image ids: ami- and 8 or 17 hex digits.
var amiID = regexp.MustCompile(`^ami-([0-9a-f]{8}|[0-9a-f]{17})$`)

func errAMINotFound(id string) *Error {
	return badRequest("InvalidAMIID.NotFound", "The image id '[%s]' does not exist", id)
}

func errAMIMalformed(id string) *Error {
	return badRequest("InvalidAMIID.Malformed", "Invalid id: \"%s\" (expecting \"ami-...\")", id)
}

// Image returns image id if account may see it (its own, or a public
// one); else InvalidAMIID.NotFound (InvalidAMIID.Malformed for an id
// that is not an image id). Safe for concurrent use.
func (h *Handler) Image(ctx context.Context, account, id string) (Image, error) {
	img, err := h.imageRecord(ctx, id)
	if err != nil {
		return Image{}, err
	}
	if img.OwnerID != account && !img.Public {
		return Image{}, errAMINotFound(id)
	}
	return img, nil
}

// imageRecord reads image id whoever owns it.
func (h *Handler) imageRecord(ctx context.Context, id string) (Image, error) {
	if !amiID.MatchString(id) {
		return Image{}, errAMIMalformed(id)
	}
	var img Image
	_, err := getJSON(ctx, h.cfg.KV, imageKey(id), &img)
	if isNotFound(err) {
		return Image{}, errAMINotFound(id)
	}
	return img, err
}

// ownImage returns the caller's image id: another account's image, even
// a public one, is not found (UnauthorizedOperation for a public one,
// which the caller can see but not change).
func (h *Handler) ownImage(c *call, id string) (Image, error) {
	img, err := h.imageRecord(c.ctx, id)
	if err != nil {
		return Image{}, err
	}
	if img.OwnerID != c.account {
		if img.Public {
			return Image{}, errUnauthorized()
		}
		return Image{}, errAMINotFound(id)
	}
	return img, nil
}

// storeImage records img under a name unique per account, then its
// owner and tags.
func (h *Handler) storeImage(c *call, img Image, tags []Tag) error {
	err := h.cfg.KV.CompareAndSwap(c.ctx, imageNameKey(c.account, img.Name), nil, []byte(img.ID))
	if errors.Is(err, meta.ErrConflict) {
		return errImageDuplicate(img.Name)
	}
	if err != nil {
		return err
	}
	if err := createJSON(c.ctx, h.cfg.KV, imageKey(img.ID), &img); err != nil {
		if derr := h.cfg.KV.Delete(c.ctx, imageNameKey(c.account, img.Name)); derr != nil {
			h.log.ErrorContext(c.ctx, "ec2: cannot free an image name", "name", img.Name, "err", derr)
		}
		return err
	}
	if err := h.setOwner(c.ctx, img.ID, c.account); err != nil {
		return err
	}
	return h.addTags(c, img.ID, tags)
}

func errImageDuplicate(name string) *Error {
	return badRequest("InvalidAMIName.Duplicate", "AMI name %s is already in use by AMI owned by you", name)
}

type deregisterImageResp struct {
	Meta
	Return bool `xml:"return"`
}

// deregisterImage forgets one of the caller's images (ImageId). Running
// instances of it keep running: they hold their own copy of its files.
func (h *Handler) deregisterImage(c *call) (Response, error) {
	id, err := c.p.Required("ImageId")
	if err != nil {
		return nil, err
	}
	if err := h.foreign(c, id); err != nil {
		return nil, err
	}
	img, err := h.ownImage(c, id)
	if err != nil {
		return nil, err
	}
	if err := dry(c); err != nil {
		return nil, err
	}
	if err := h.cfg.KV.Delete(c.ctx, imageKey(id)); err != nil {
		return nil, err
	}
	if err := h.cfg.KV.Delete(c.ctx, imageNameKey(c.account, img.Name)); err != nil {
		return nil, err
	}
	if err := h.dropTags(c, id); err != nil {
		return nil, err
	}
	return &deregisterImageResp{Return: true}, h.setOwner(c.ctx, id, "")
}
