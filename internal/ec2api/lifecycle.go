package ec2api

import (
	"context"
	"net/http"
)

// This file exports, for the instance lifecycle (internal/instances),
// the face's own helpers: its error shapes, paging, filters, tag
// specifications and the owner index DryRun consults.

// BadRequest is an EC2 error sent with status 400.
func BadRequest(code, format string, args ...any) *Error { return badRequest(code, format, args...) }

// Errorf is an EC2 error sent with status.
func Errorf(status int, code, format string, args ...any) *Error {
	return errorf(status, code, format, args...)
}

// ErrMissing is MissingParameter for name.
func ErrMissing(name string) *Error { return errMissing(name) }

// ErrInvalid is InvalidParameterValue.
func ErrInvalid(format string, args ...any) *Error { return errInvalid(format, args...) }

// ErrUnauthorized is UnauthorizedOperation (403).
func ErrUnauthorized() *Error { return errUnauthorized() }

// ErrInsufficientCapacity is InsufficientInstanceCapacity (500, as EC2
// sends it: the client may retry).
func ErrInsufficientCapacity(format string, args ...any) *Error {
	return errorf(http.StatusInternalServerError, "InsufficientInstanceCapacity", format, args...)
}

// IsCode reports whether err is an *Error with code.
func IsCode(err error, code string) bool { return isCode(err, code) }

// Paging is a parsed MaxResults / NextToken pair.
type Paging struct{ p paging }

// Page parses MaxResults (lo..hi; absent: no limit) and NextToken.
func (p Params) Page(lo, hi int) (Paging, error) {
	pg, err := p.page(lo, hi)
	return Paging{pg}, err
}

// PageOf returns the items (in ascending id order) past the page's
// token, up to its MaxResults, and the next token ("" on the last page).
func PageOf[T any](items []T, pg Paging, id func(T) string) ([]T, string) {
	return pageOf(items, pg.p, id)
}

// Fields gives the values a resource has for a filter name, and whether
// the name is known for its type.
type Fields func(name string) ([]string, bool)

// KnownFilters refuses (InvalidParameterValue) a filter name f does not
// know; tag:KEY and tag-key are always known.
func KnownFilters(filters []Filter, f Fields) error { return knownFilters(filters, fields(f)) }

// Applies reports whether a resource with fields f and tags passes every
// filter (EC2 wildcards * and ?).
func Applies(filters []Filter, f Fields, tags map[string]string) (bool, error) {
	return applies(filters, fields(f), tags)
}

// SpecTags returns the tags of the TagSpecification.N of resource type
// rt, validated; a specification of another type is InvalidParameterValue.
func (p Params) SpecTags(rt string) ([]Tag, error) { return p.specTags(rt) }

// SetOwner records which account holds resource id (account "" forgets
// it), so a DryRun naming it from another account is UnauthorizedOperation.
func (h *Handler) SetOwner(ctx context.Context, id, account string) error {
	return h.setOwner(ctx, id, account)
}

// OwnerOf returns the account that holds resource id, "" for none.
func (h *Handler) OwnerOf(ctx context.Context, id string) (string, error) { return h.ownerOf(ctx, id) }

// TagMap returns the tags of account's resource id as a map (nil when none).
func (h *Handler) TagMap(ctx context.Context, account, id string) (map[string]string, error) {
	return h.tagsOf(&call{ctx: ctx, account: account}, id)
}
