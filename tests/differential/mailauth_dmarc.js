'use strict';
// mailauth_dmarc.js - mailauth@4's DMARC verdict for dmarc_diff.py's cases.
// Usage: node mailauth_dmarc.js NODE_MODULES_DIR < cases.json
// Prints "name result policy" per case; DNS comes from the case's records.
const path = require('path');
const verify = require(path.resolve(process.argv[2], 'mailauth/lib/dmarc/verify.js'));

const main = async () => {
    const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));
    for (const c of cases) {
        const resolver = async (name, type) => {
            const v = c.records[name.toLowerCase()];
            if (type !== 'TXT' || !v) {
                const e = new Error('not found');
                e.code = v ? 'ENODATA' : 'ENOTFOUND';
                throw e;
            }
            return v.map(t => [t]);
        };
        const r = await verify({
            headerFrom: 'user@' + c.from,
            spfDomains: c.spfDomains,
            dkimDomains: c.dkimDomains,
            resolver
        });
        const res = r && r.status ? r.status.result : 'error';
        console.log(`${c.name} ${res} ${res === 'fail' ? r.policy || '-' : '-'}`);
    }
};
main().catch(e => { console.error(e); process.exit(2); });
