/** The CNTK MNIST CNN converted with the fixture's protocol, λ by the 99.9th percentile of non-zero activations: tests/helpers/cntk-conversion.ts. */
import { referenceTableTest } from '../helpers/cntk-conversion.js';

referenceTableTest('p99.9', [807.3, 1950.2]);
