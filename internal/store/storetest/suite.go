package storetest

import (
	"testing"

	"github.com/insitu-cloud/insitu/internal/store"
)

// Run runs the conformance suite. newEngine must return a fresh, empty
// engine for each call and arrange for it to be closed (t.Cleanup); the
// suite may also close it itself, so Close must be idempotent.
func Run(t *testing.T, newEngine func(t *testing.T) store.Engine) {
	tests := []struct {
		name string
		fn   func(t *testing.T, e store.Engine)
	}{
		{"Buckets", testBuckets},
		{"DeleteBucketDropsUploads", testDeleteBucketDropsUploads},
		{"MissingBucket", testMissingBucket},
		{"PutGet", testPutGet},
		{"PutChecksum", testPutChecksum},
		{"PutErrors", testPutErrors},
		{"IfNoneMatch", testIfNoneMatch},
		{"Ranges", testRanges},
		{"OverwriteDelete", testOverwriteDelete},
		{"ReaderSurvivesOverwrite", testReaderSurvivesOverwrite},
		{"List", testList},
		{"ListPaging", testListPaging},
		{"Multipart", testMultipart},
		{"MultipartErrors", testMultipartErrors},
		{"ListParts", testListParts},
		{"ListUploads", testListUploads},
		{"ConcurrentPutsOneKey", testConcurrentPutsOneKey},
		{"CloseIdempotent", testCloseIdempotent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newEngine(t))
		})
	}
}

func testCloseIdempotent(t *testing.T, e store.Engine) {
	if err := e.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
