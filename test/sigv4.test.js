// SigV4 (src/store/sigv4.ts) against the example signatures AWS documents for
// S3 header-based authentication ("Signature Calculations for the Authorization
// Header", docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html):
// the same credentials, date, requests and expected signatures.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { signRequest } from '../dist/index.js';

const credentials = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
const date = new Date('2013-05-24T00:00:00Z');
const host = 'examplebucket.s3.amazonaws.com';
const EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const signatureOf = (h) => /Signature=([0-9a-f]{64})$/.exec(h.authorization)[1];

const S = suite('SigV4: the examples AWS documents for S3');
S('GET Object with a Range header', async () => {
  const h = await signRequest({ method: 'GET', host, path: '/test.txt', headers: { Range: 'bytes=0-9' }, payloadHash: EMPTY, region: 'us-east-1', credentials, date });
  assert.is(h.authorization, 'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,' +
    'SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41');
  assert.is(h['x-amz-date'], '20130524T000000Z');
  assert.is(h['x-amz-content-sha256'], EMPTY);
});
S('PUT Object: a key with a reserved character, a Date and a storage-class header, a signed payload', async () => {
  const h = await signRequest({
    method: 'PUT', host, path: '/test%24file.text', region: 'us-east-1', credentials, date,
    headers: { Date: 'Fri, 24 May 2013 00:00:00 GMT', 'x-amz-storage-class': 'REDUCED_REDUNDANCY' },
    payloadHash: '44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072',
  });
  assert.match(h.authorization, /SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,/);
  assert.is(signatureOf(h), '98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd');
});
S('GET Bucket lifecycle: a query parameter without a value', async () => {
  const h = await signRequest({ method: 'GET', host, path: '/', query: [['lifecycle', '']], payloadHash: EMPTY, region: 'us-east-1', credentials, date });
  assert.is(signatureOf(h), 'fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543');
});
S('GET Bucket (list objects): query parameters sorted by name', async () => {
  const h = await signRequest({ method: 'GET', host, path: '/', query: [['prefix', 'J'], ['max-keys', '2']], payloadHash: EMPTY, region: 'us-east-1', credentials, date });
  assert.is(signatureOf(h), '34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7');
});
S('a session token is sent and signed; another secret gives another signature', async () => {
  const h = await signRequest({ method: 'GET', host, path: '/test.txt', payloadHash: EMPTY, region: 'us-east-1', credentials: { ...credentials, sessionToken: 'TOKEN' }, date });
  assert.is(h['x-amz-security-token'], 'TOKEN');
  assert.match(h.authorization, /SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,/);
  const other = await signRequest({ method: 'GET', host, path: '/test.txt', payloadHash: EMPTY, region: 'us-east-1', credentials: { ...credentials, secretAccessKey: 'x' }, date });
  assert.is.not(signatureOf(other), signatureOf(h));
});
S.run();
