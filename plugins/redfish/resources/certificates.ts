/**
 * CertificateService: the HTTPS certificate as a DMTF Certificate
 * (`Managers/vpmd/NetworkProtocol/HTTPS/Certificates/1`), listed in CertificateLocations, and
 * the two actions that let an operator install a CA-signed certificate over Redfish: GenerateCSR
 * (a new key pair, kept in the state directory, and its PKCS#10 request) and ReplaceCertificate
 * (a PEM certificate for that key, or a PEM bundle with its own key, applied live). Every refusal
 * is a Base registry message and changes nothing. DMTF's privilege registry gives the actions and
 * the Certificate to ConfigureManager only.
 */
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import type { ServiceDeps } from '../config.js';
import { RedfishError, baseMessage, fail, type ExtendedInfo } from '../http/redfish-error.js';
import type { Reply, Route, RouteRequest } from '../http/router.js';
import { CertificateRefusal, type CertificateStore } from '../certs/certificate-store.js';
import { certificateProperties } from '../certs/certificate-info.js';
import type { CsrSubject, KeySpec } from '../certs/csr.js';
import { notFound } from './service-root.js';
import { collection, link, odataType } from './types.js';

const CS = '/redfish/v1/CertificateService';
/** The HTTPS certificate collection and its one member. */
export const HTTPS_CERTIFICATES = '/redfish/v1/Managers/vpmd/NetworkProtocol/HTTPS/Certificates';
const HTTPS_CERT = `${HTTPS_CERTIFICATES}/1`;
const GENERATE = 'CertificateService.GenerateCSR';
const REPLACE = 'CertificateService.ReplaceCertificate';
const ALGORITHMS = ['TPM_ALG_ECDSA', 'TPM_ALG_RSA'];
const CURVES = ['TPM_ECC_NIST_P256', 'TPM_ECC_NIST_P384'];
const RSA_BITS = [2048, 3072, 4096];
const CSR_TEXT: Record<string, { key?: keyof CsrSubject; max: number }> = {
  CommonName: { key: 'commonName', max: 64 },
  Country: { key: 'country', max: 2 },
  State: { key: 'state', max: 128 },
  City: { key: 'city', max: 128 },
  Organization: { key: 'organization', max: 64 },
  OrganizationalUnit: { key: 'organizationalUnit', max: 64 },
  Email: { key: 'email', max: 128 },
};
/** Parameters of the schema this service does not take (a CA decides those). */
const CSR_NOT_SUPPORTED = [
  'ChallengePassword',
  'ContactPerson',
  'GivenName',
  'Initials',
  'KeyUsage',
  'Surname',
  'UnstructuredName',
];
const DNS_NAME = /^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** The `@odata.id` of a link parameter, given as a link object or (leniently) as a URI string. */
function linkTarget(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as Record<string, unknown>)['@odata.id'] === 'string')
    return (v as Record<string, string>)['@odata.id'];
  return undefined;
}

/** A parameter value as a message argument. */
function shown(v: unknown): string {
  return typeof v === 'string' ? v : (JSON.stringify(v) ?? 'null');
}

function refuse(messages: ExtendedInfo[]): never {
  throw new RedfishError(400, messages);
}

/** Unknown and missing parameters, reported together. */
function checkParameters(body: Record<string, unknown>, action: string, known: string[], required: string[]): void {
  const problems = [
    ...Object.keys(body)
      .filter((k) => !k.includes('@') && !known.includes(k))
      .map((k) =>
        CSR_NOT_SUPPORTED.includes(k)
          ? baseMessage('ActionParameterNotSupported', [k, action], k)
          : baseMessage('ActionParameterUnknown', [action, k], k),
      ),
    ...required.filter((k) => body[k] === undefined).map((k) => baseMessage('ActionParameterMissing', [action, k], k)),
  ];
  if (problems.length > 0) refuse(problems);
}

function text(body: Record<string, unknown>, name: string, action: string, max: number): string | undefined {
  const v = body[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string')
    refuse([baseMessage('ActionParameterValueTypeError', [JSON.stringify(v), name, action], name)]);
  // Control characters would end up in the DN; a country is two letters (ISO 3166).
  if (
    v.length === 0 ||
    v.length > max ||
    [...v].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f) ||
    (name === 'Country' && !/^[A-Z]{2}$/.test(v))
  )
    refuse([baseMessage('ActionParameterValueFormatError', [v, name, action], name)]);
  return v;
}

/** The key a GenerateCSR body asks for (EC P-256 unless told otherwise). */
function keySpec(body: Record<string, unknown>): KeySpec {
  const alg = body.KeyPairAlgorithm ?? 'TPM_ALG_ECDSA';
  if (typeof alg !== 'string' || !ALGORITHMS.includes(alg))
    refuse([
      baseMessage('ActionParameterValueNotInList', [shown(alg), 'KeyPairAlgorithm', GENERATE], 'KeyPairAlgorithm'),
    ]);
  const bitsGiven = body.KeyBitLength;
  if (bitsGiven !== undefined && (typeof bitsGiven !== 'number' || !Number.isInteger(bitsGiven)))
    refuse([
      baseMessage(
        'ActionParameterValueTypeError',
        [JSON.stringify(bitsGiven), 'KeyBitLength', GENERATE],
        'KeyBitLength',
      ),
    ]);
  if (alg === 'TPM_ALG_RSA') {
    if (body.KeyCurveId !== undefined)
      refuse([baseMessage('ActionParameterValueConflict', ['KeyCurveId', shown(body.KeyCurveId)], 'KeyCurveId')]);
    const bits: number = bitsGiven ?? 2048;
    if (!RSA_BITS.includes(bits))
      refuse([baseMessage('ActionParameterValueNotInList', [String(bits), 'KeyBitLength', GENERATE], 'KeyBitLength')]);
    return { type: 'rsa', bits };
  }
  const curve = body.KeyCurveId ?? 'TPM_ECC_NIST_P256';
  if (typeof curve !== 'string' || !CURVES.includes(curve))
    refuse([baseMessage('ActionParameterValueNotInList', [shown(curve), 'KeyCurveId', GENERATE], 'KeyCurveId')]);
  const size = curve === 'TPM_ECC_NIST_P384' ? 384 : 256;
  if (bitsGiven !== undefined && bitsGiven !== size)
    refuse([baseMessage('ActionParameterValueConflict', ['KeyBitLength', String(bitsGiven)], 'KeyBitLength')]);
  return { type: 'ec', curve: size === 384 ? 'P-384' : 'P-256' };
}

function alternativeNames(body: Record<string, unknown>, commonName: string): string[] {
  const v = body.AlternativeNames;
  if (v === undefined) return [commonName];
  if (!Array.isArray(v) || v.length === 0 || v.length > 32)
    refuse([
      baseMessage(
        'ActionParameterValueTypeError',
        [JSON.stringify(v), 'AlternativeNames', GENERATE],
        'AlternativeNames',
      ),
    ]);
  for (const n of v)
    if (typeof n !== 'string' || (isIP(n) === 0 && !DNS_NAME.test(n)))
      refuse([
        baseMessage('ActionParameterValueFormatError', [String(n), 'AlternativeNames', GENERATE], 'AlternativeNames'),
      ]);
  return v as string[];
}

/** Routes of the CertificateService and the HTTPS certificate. */
export function certificateRoutes(deps: ServiceDeps, store: CertificateStore): Route[] {
  const { ctx } = deps;
  const notConfigurable = (action: string): void => {
    if (store.configured)
      refuse([
        {
          ...baseMessage('ActionNotSupported', [action]),
          Message: `The action ${action} is not supported by the resource: the certificate is set by configuration (plugins.redfish.tlsCert and tlsKey); replace those files instead.`,
        },
      ]);
  };
  const collectionTarget = (req: RouteRequest, param: string, action: string): void => {
    const target = linkTarget(req.body[param]);
    if (target === undefined)
      refuse([baseMessage('ActionParameterValueTypeError', [JSON.stringify(req.body[param]), param, action], param)]);
    const wanted = param === 'CertificateUri' ? HTTPS_CERT : HTTPS_CERTIFICATES;
    if (target.replace(/\/$/, '') !== wanted)
      refuse([baseMessage('ActionParameterValueNotInList', [target, param, action], param)]);
  };
  const certificateBody = (): Record<string, unknown> => {
    const served = store.current();
    if (!served) throw fail(503, 'ServiceTemporarilyUnavailable', ['1']);
    const leaf = new X509Certificate(served.chain);
    return {
      '@odata.id': HTTPS_CERT,
      '@odata.type': odataType('Certificate'),
      Id: '1',
      Name: 'HTTPS certificate of the Redfish service',
      Description: {
        config: 'From the configured files (plugins.redfish.tlsCert, tlsKey)',
        generated: 'Self-signed, generated by vpmd',
        state: 'Self-signed, generated by vpmd',
        installed: 'Installed with CertificateService.ReplaceCertificate',
      }[served.source],
      CertificateString: served.chain,
      CertificateType: served.chain.indexOf('-----BEGIN', 1) > 0 ? 'PEMchain' : 'PEM',
      CertificateUsageTypes: ['Web'],
      ...certificateProperties(leaf),
    };
  };
  const audited = async <T>(req: RouteRequest, action: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (e) {
      if (req.principal)
        ctx.access.audit(req.principal, `redfish ${action}`, 'failed', e instanceof Error ? e.message : 'refused');
      throw e;
    }
  };
  return [
    {
      pattern: CS,
      entity: 'CertificateService',
      get: (req) => ({
        '@odata.id': CS,
        '@odata.type': odataType('CertificateService'),
        Id: 'CertificateService',
        Name: 'Certificate service',
        Description: 'Replaces the HTTPS certificate of this service (GenerateCSR, then ReplaceCertificate)',
        // Only for those who may follow it (ConfigureManager): a 403 link fails every tree walker.
        ...(req.principal && ctx.access.can(req.principal, 'ConfigureManager')
          ? { CertificateLocations: link(`${CS}/CertificateLocations`) }
          : {}),
        Actions: {
          [`#${GENERATE}`]: {
            target: `${CS}/Actions/${GENERATE}`,
            'CertificateCollection@Redfish.AllowableValues': [HTTPS_CERTIFICATES],
            'KeyPairAlgorithm@Redfish.AllowableValues': ALGORITHMS,
            'KeyCurveId@Redfish.AllowableValues': CURVES,
          },
          [`#${REPLACE}`]: {
            target: `${CS}/Actions/${REPLACE}`,
            'CertificateType@Redfish.AllowableValues': ['PEM', 'PEMchain'],
            'CertificateUri@Redfish.AllowableValues': [HTTPS_CERT],
          },
        },
      }),
    },
    {
      pattern: `${CS}/CertificateLocations`,
      entity: 'CertificateLocations',
      get: () => ({
        '@odata.id': `${CS}/CertificateLocations`,
        '@odata.type': odataType('CertificateLocations'),
        Id: 'CertificateLocations',
        Name: 'Certificate locations',
        Links: { Certificates: [link(HTTPS_CERT)], 'Certificates@odata.count': 1 },
      }),
    },
    {
      pattern: HTTPS_CERTIFICATES,
      entity: 'CertificateCollection',
      get: () => collection('CertificateCollection', HTTPS_CERTIFICATES, 'HTTPS certificates', [HTTPS_CERT]),
    },
    {
      pattern: `${HTTPS_CERTIFICATES}/{id}`,
      entity: 'Certificate',
      get: (req) => {
        if (req.params.id !== '1') throw notFound('Certificate', req.params.id ?? '');
        return certificateBody();
      },
    },
    {
      pattern: `${CS}/Actions/${GENERATE}`,
      entity: 'CertificateService',
      post: (req): Promise<Reply> =>
        audited(req, 'GenerateCSR', async () => {
          notConfigurable(GENERATE);
          const b = req.body;
          checkParameters(
            b,
            GENERATE,
            [
              'CertificateCollection',
              'AlternativeNames',
              'KeyPairAlgorithm',
              'KeyBitLength',
              'KeyCurveId',
              ...Object.keys(CSR_TEXT),
            ],
            ['CertificateCollection', 'CommonName'],
          );
          collectionTarget(req, 'CertificateCollection', GENERATE);
          const subject: Record<string, string> = {};
          for (const [name, f] of Object.entries(CSR_TEXT)) {
            const v = text(b, name, GENERATE, f.max);
            if (v !== undefined && f.key) subject[f.key] = v;
          }
          const commonName = subject.commonName as string;
          const names = alternativeNames(b, commonName);
          const spec = keySpec(b);
          const csr = await store.generateCsr(subject as unknown as CsrSubject, names, spec);
          ctx.log.info(
            { user: req.principal?.name, commonName, alternativeNames: names, key: spec },
            'redfish: new key pair and CSR for the HTTPS certificate',
          );
          return { status: 200, body: { CSRString: csr, CertificateCollection: link(HTTPS_CERTIFICATES) } };
        }),
    },
    {
      pattern: `${CS}/Actions/${REPLACE}`,
      entity: 'CertificateService',
      post: (req): Promise<Reply> =>
        audited(req, 'ReplaceCertificate', async () => {
          notConfigurable(REPLACE);
          const b = req.body;
          checkParameters(
            b,
            REPLACE,
            ['CertificateString', 'CertificateType', 'CertificateUri'],
            ['CertificateString', 'CertificateType', 'CertificateUri'],
          );
          if (typeof b.CertificateType !== 'string' || !['PEM', 'PEMchain'].includes(b.CertificateType))
            refuse([
              baseMessage(
                'ActionParameterValueNotInList',
                [String(b.CertificateType), 'CertificateType', REPLACE],
                'CertificateType',
              ),
            ]);
          collectionTarget(req, 'CertificateUri', REPLACE);
          if (typeof b.CertificateString !== 'string')
            refuse([
              baseMessage(
                'ActionParameterValueTypeError',
                ['(not a string)', 'CertificateString', REPLACE],
                'CertificateString',
              ),
            ]);
          let installed;
          try {
            installed = await store.replace(b.CertificateString);
          } catch (e) {
            if (!(e instanceof CertificateRefusal)) throw e;
            // The value is never echoed: it may hold a private key.
            const base =
              e.kind === 'format'
                ? baseMessage(
                    'ActionParameterValueFormatError',
                    ['(PEM text)', 'CertificateString', REPLACE],
                    'CertificateString',
                  )
                : e.kind === 'key'
                  ? baseMessage(
                      'ActionParameterValueConflict',
                      ['CertificateString', '(PEM text)'],
                      'CertificateString',
                    )
                  : baseMessage('ActionParameterValueError', ['CertificateString', REPLACE], 'CertificateString');
            refuse([{ ...base, Message: `${base.Message} (${e.message})` }]);
          }
          ctx.log.info(
            {
              user: req.principal?.name,
              subject: installed.leaf.subject,
              fingerprint: installed.leaf.fingerprint256,
              validTo: installed.leaf.validTo,
              key: installed.keySource,
            },
            'redfish: HTTPS certificate replaced (live for new connections)',
          );
          return { status: 200, body: certificateBody(), headers: { Location: HTTPS_CERT } };
        }),
    },
  ];
}
