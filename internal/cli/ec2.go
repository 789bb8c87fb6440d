package cli

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"
	"github.com/spf13/cobra"

	"github.com/insitu-cloud/insitu/internal/client"
)

// ec2Path is where a node serves the EC2 Query API (ec2api.Path).
const ec2Path = "/services/compute"

// ec2MaxAttempts bounds the EC2 client's attempts of one call (RunInstances
// is safe to retry: the SDK gives it a ClientToken).
const ec2MaxAttempts = 3

// ec2 resolves the settings of cmd and returns aws-sdk-go-v2's EC2 client
// pointed at ENDPOINT/services/compute (an endpoint given with that path
// keeps it), signing with the configured keys and region.
func (g *globals) ec2(cmd *cobra.Command) (*ec2.Client, error) {
	st, err := g.resolve(cmd.Flags())
	if err != nil {
		return nil, err
	}
	if err := requireKeys(st); err != nil {
		return nil, err
	}
	u, err := client.ParseEndpoint(st.Endpoint)
	if err != nil {
		return nil, err
	}
	base := strings.TrimSuffix(u.String(), "/")
	if !strings.HasSuffix(base, ec2Path) {
		base += ec2Path
	}
	tr, err := newTransport(st)
	if err != nil {
		return nil, err
	}
	return ec2.New(ec2.Options{
		BaseEndpoint: aws.String(base),
		Region:       st.Region,
		Credentials:  credentials.NewStaticCredentialsProvider(st.AccessKey, st.SecretKey, ""),
		HTTPClient:   &http.Client{Transport: tr, Timeout: client.DefaultTimeout},
		Retryer:      retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts = ec2MaxAttempts }),
	}), nil
}

// ec2Error is an EC2 error response shown as "Code: Message".
type ec2Error struct {
	code, message string
	err           error
}

func (e *ec2Error) Error() string {
	if e.message == "" {
		return e.code
	}
	return e.code + ": " + e.message
}

func (e *ec2Error) Unwrap() error { return e.err }

// ec2OpError prefixes err with the command, showing an EC2 error as its
// code and message only, e.g.
// "instance run: InvalidAMIID.NotFound: The image id '[ami-1]' does not exist".
func ec2OpError(op string, err error) error {
	if err == nil {
		return nil
	}
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() != "" {
		err = &ec2Error{code: ae.ErrorCode(), message: ae.ErrorMessage(), err: err}
	}
	return fmt.Errorf("%s: %w", op, err)
}
