package cli

import (
	"errors"
	"fmt"

	"github.com/minio/minio-go/v7"
)

// s3Error is an S3 error response shown as "Code: Message".
type s3Error struct {
	code, message string
	err           error
}

func (e *s3Error) Error() string {
	if e.message == "" {
		return e.code
	}
	return e.code + ": " + e.message
}

func (e *s3Error) Unwrap() error { return e.err }

// describe turns a minio-go error response into an error whose text starts
// with the S3 error code; other errors pass through unchanged.
func describe(err error) error {
	var er minio.ErrorResponse
	if errors.As(err, &er) && er.Code != "" {
		return &s3Error{code: er.Code, message: er.Message, err: err}
	}
	return err
}

// opError prefixes err with the command and its argument, e.g.
// "mb s3://x: BucketAlreadyOwnedByYou: ...".
func opError(op, arg string, err error) error {
	if err == nil {
		return nil
	}
	if arg == "" {
		return fmt.Errorf("%s: %w", op, describe(err))
	}
	return fmt.Errorf("%s %s: %w", op, arg, describe(err))
}
