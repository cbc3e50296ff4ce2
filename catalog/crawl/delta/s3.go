package delta

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"almanac/catalog"
)

// S3 says how to reach the object store of the roots given as s3:// URIs.
// Credentials are not part of it: they come from the environment or the
// standard AWS chain (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY,
// AWS_PROFILE and the shared files, web identity, the instance's role), so
// that no secret is written in a configuration.
type S3 struct {
	// Endpoint is the URL of an S3-compatible server, such as
	// http://127.0.0.1:7070; empty means AWS (or AWS_ENDPOINT_URL_S3).
	Endpoint string
	// Region signs the requests; empty means AWS_REGION or the profile's,
	// else us-east-1.
	Region string
	// PathStyle puts the bucket in the URL's path (http://host/bucket/key)
	// rather than in its host name, as most S3-compatible servers want.
	PathStyle bool
}

// errNoCredentials says that the standard AWS chain found no credentials.
var errNoCredentials = errors.New("no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, for the crawler")

// defaultRegion is the region of requests when nothing names one; an
// S3-compatible server usually accepts it, and AWS redirects.
const defaultRegion = "us-east-1"

// newS3Client returns a client for cfg with the credentials of the
// standard AWS chain.
func newS3Client(ctx context.Context, cfg S3) (*s3.Client, error) {
	var opts []func(*config.LoadOptions) error
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("s3: load the AWS configuration: %w", err)
	}
	if awsCfg.Region == "" {
		awsCfg.Region = defaultRegion
	}
	// Credentials are looked for once, now, so that their absence is
	// said plainly rather than inside the first request's error.
	if awsCfg.Credentials == nil {
		return nil, errNoCredentials
	}
	if _, err := awsCfg.Credentials.Retrieve(ctx); err != nil {
		return nil, fmt.Errorf("%w (%v)", errNoCredentials, err)
	}
	if cfg.Endpoint != "" {
		if u, err := url.Parse(cfg.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("s3: endpoint %q is not an http:// or https:// URL: %w", cfg.Endpoint, catalog.ErrInvalid)
		}
	}
	return s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		o.UsePathStyle = cfg.PathStyle
		// S3-compatible servers often send no checksum with an object;
		// the client would log that at every read.
		o.DisableLogOutputChecksumValidationSkipped = true
	}), nil
}

// parseS3Root splits an s3:// (or s3a://, s3n://) URI into its bucket and
// key prefix, without slashes at either end; ok is false for any other
// root.
func parseS3Root(root string) (bucket, prefix string, ok bool, err error) {
	scheme, rest, found := strings.Cut(root, "://")
	if !found {
		return "", "", false, nil
	}
	switch strings.ToLower(scheme) {
	case "s3", "s3a", "s3n":
	default:
		return "", "", false, fmt.Errorf("root %q: unknown scheme %q (want a local path or s3://bucket/prefix): %w", root, scheme, catalog.ErrInvalid)
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", true, fmt.Errorf("root %q: no bucket: %w", root, catalog.ErrInvalid)
	}
	return bucket, strings.Trim(prefix, "/"), true, nil
}

// s3Storage is one bucket of an object store. Names are its keys; a
// directory is a key prefix ending in '/', listed with that delimiter.
type s3Storage struct {
	client *s3.Client
	bucket string
}

func (s *s3Storage) list(ctx context.Context, dir, startAfter string) ([]entry, error) {
	prefix := dir
	if prefix != "" {
		prefix += "/"
	}
	in := &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket), Prefix: aws.String(prefix), Delimiter: aws.String("/")}
	if startAfter != "" {
		in.StartAfter = aws.String(prefix + startAfter)
	}
	var out []entry
	for p := s3.NewListObjectsV2Paginator(s.client, in); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, s.fail("list", prefix, err)
		}
		for _, cp := range page.CommonPrefixes {
			name := strings.TrimSuffix(strings.TrimPrefix(aws.ToString(cp.Prefix), prefix), "/")
			if name != "" {
				out = append(out, entry{name: name, dir: true})
			}
		}
		for _, o := range page.Contents {
			name := strings.TrimPrefix(aws.ToString(o.Key), prefix)
			if name != "" { // the "directory object" some tools write
				out = append(out, entry{name: name, size: aws.ToInt64(o.Size)})
			}
		}
	}
	// A page holds its prefixes and its keys each in order; merged, they
	// are not.
	slices.SortFunc(out, func(a, b entry) int { return strings.Compare(a.name, b.name) })
	return out, nil
}

func (s *s3Storage) open(ctx context.Context, name string) (file, error) {
	res, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(name)})
	if err != nil {
		return nil, s.fail("read", name, err)
	}
	return &s3File{s: s, ctx: ctx, name: name, body: res.Body, size: aws.ToInt64(res.ContentLength)}, nil
}

func (s *s3Storage) location(name string) string { return "s3://" + s.bucket + "/" + name }

func (s *s3Storage) key(dir string) (catalog.Key, error) {
	return catalog.LocationKey((&url.URL{Scheme: "s3", Host: s.bucket, Path: "/" + dir}).String())
}

func (s *s3Storage) resolve(ref string) (string, bool) {
	bucket, key, ok, err := parseS3Root(ref)
	if !ok || err != nil || bucket != s.bucket {
		return "", false
	}
	return key, true
}

// fail describes an error of the object store for people: what was being
// done to which location, the server's code and message, and what to
// check when it refused the credentials.
func (s *s3Storage) fail(op, name string, err error) error {
	loc := s.location(name)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s %s: %w", op, loc, err)
	}
	status := 0
	if re, ok := errors.AsType[*awshttp.ResponseError](err); ok {
		status = re.HTTPStatusCode()
	}
	if ae, ok := errors.AsType[smithy.APIError](err); ok {
		code := ae.ErrorCode()
		msg := code
		if m := ae.ErrorMessage(); m != "" {
			msg += ": " + m
		}
		switch {
		case code == "NoSuchBucket":
			return fmt.Errorf("%s %s: bucket %q does not exist (%s): %w", op, loc, s.bucket, msg, fs.ErrNotExist)
		case code == "NoSuchKey" || (status == 404 && !refused[code]):
			return fmt.Errorf("%s %s: %s: %w", op, loc, msg, fs.ErrNotExist)
		case refused[code] || status == 401 || status == 403:
			return fmt.Errorf("%s %s: bucket %q refused the request (%s); check the credentials the crawler runs with (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE) and their rights on the bucket", op, loc, s.bucket, msg)
		}
		return fmt.Errorf("%s %s: %s", op, loc, msg)
	}
	return fmt.Errorf("%s %s: %w", op, loc, err)
}

// refused are the error codes of credentials that a server does not
// accept: AWS's, and those of S3-compatible servers that answer otherwise
// (versitygw says 404 XAdminUserNotFound for an unknown access key).
var refused = map[string]bool{
	"AccessDenied": true, "InvalidAccessKeyId": true, "SignatureDoesNotMatch": true,
	"InvalidToken": true, "ExpiredToken": true, "TokenRefreshRequired": true,
	"XAdminUserNotFound": true,
}

// s3File is an object being read: in sequence from the body of one GET,
// or at offsets by ranged GETs.
type s3File struct {
	s    *s3Storage
	ctx  context.Context
	name string
	body io.ReadCloser
	size int64
}

func (f *s3File) Read(p []byte) (int, error) {
	n, err := f.body.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = fmt.Errorf("read %s: %w", f.s.location(f.name), err)
	}
	return n, err
}

func (f *s3File) ReadAt(p []byte, off int64) (int, error) {
	if off >= f.size {
		return 0, io.EOF
	}
	end := min(off+int64(len(p)), f.size) - 1
	res, err := f.s.client.GetObject(f.ctx, &s3.GetObjectInput{
		Bucket: aws.String(f.s.bucket), Key: aws.String(f.name),
		Range: aws.String(fmt.Sprintf("bytes=%d-%d", off, end)),
	})
	if err != nil {
		return 0, f.s.fail("read", f.name, err)
	}
	defer res.Body.Close()
	n, err := io.ReadFull(res.Body, p[:end-off+1])
	if err != nil {
		return n, fmt.Errorf("read %s: %w", f.s.location(f.name), err)
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *s3File) Close() error { return f.body.Close() }

func (f *s3File) Size() int64 { return f.size }
