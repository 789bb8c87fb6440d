package main
import (
 _ "github.com/cockroachdb/pebble"
 _ "github.com/spf13/cobra"
 _ "github.com/prometheus/client_golang/prometheus"
 _ "github.com/aws/aws-sdk-go-v2/service/s3"
 _ "github.com/aws/aws-sdk-go-v2/config"
 _ "github.com/aws/aws-sdk-go-v2/feature/s3/manager"
 _ "github.com/minio/minio-go/v7"
 _ "github.com/google/uuid"
)
func main(){}
