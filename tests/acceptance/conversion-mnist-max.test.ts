/** The CNTK MNIST CNN converted with the fixture's protocol, λ by the max of non-zero activations: tests/helpers/cntk-conversion.ts. */
import { referenceTableTest } from '../helpers/cntk-conversion.js';

referenceTableTest('max', [975.9, 2929.6]);
