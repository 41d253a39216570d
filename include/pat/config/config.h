#pragma once
/// \file PAT's configuration: plain typed structs with defaults, one per YAML section.
///
/// The YAML file mirrors these structs (`model.clip.arch`, `model.pat.codebook_size`, `train.lr`, ...).
/// Only src/config/ reads YAML; every other component receives these structs (or options built from
/// them). Defaults are the ViT-B/16 CAT-Seg protocol of shared/design/CATSEG.md with PAT on.

#include <cstdint>
#include <string>
#include <vector>

namespace pat {

/// `runtime:` process settings.
struct RuntimeConfig {
  std::string device = "auto";        ///< auto | cpu | cuda | cuda:N
  int threads = 0;                    ///< intra-op CPU threads; 0 = all cores
  int64_t cpu_cache_mb = 4096;        ///< freed CPU tensors of >= 32 MiB kept for reuse, at most this much (0: none)
  int64_t seed = 42;                  ///< seeds LibTorch, data order and augmentation
  std::string log_level = "info";     ///< trace | debug | info | warn | error | off
  std::string precision = "fp32";     ///< fp32 | bf16 (autocast: matrix products and convolutions in bfloat16)
  bool tf32 = true;                   ///< allow TF32 matrix products on CUDA (CAT-Seg trains with it)
  bool channels_last = true;          ///< channels-last convolutions on CUDA (ignored on the CPU)
  std::string dist_backend = "auto";  ///< auto | gloo | nccl: the c10d process group of multi-process runs
  int64_t dist_timeout = 1800;  ///< seconds a rank waits for a stuck peer before failing (a dead one fails at once)
};

/// `model.clip:` the CLIP backbone.
struct ClipConfig {
  std::string arch = "ViT-B-16";       ///< ViT-B-16 | ViT-B-32 | ViT-L-14 | ViT-L-14-336 | custom
  std::string weights;                 ///< OpenAI .pt archive or .safetensors; empty = random init
  std::string tokenizer = "bpe";       ///< bpe (needs vocab) | byte (byte-level, no merges file)
  std::string vocab;                   ///< bpe_simple_vocab_16e6.txt.gz; empty = the vendored copy (share/pat/clip)
  int64_t image_size = 384;            ///< input resolution of the segmentation model (multiple of the patch)
  std::string finetune = "attention";  ///< attention (Q/V weights) | frozen | full
  std::vector<int64_t> taps = {3, 7};  ///< blocks whose raw outputs feed the guidance upsamplers
  std::string templates = "single";    ///< single | imagenet | imagenet_select
  int64_t context_length = 77;         ///< text context (custom arch)
  // Explicit sizes for arch: custom (tiny models trained from scratch).
  int64_t vision_width = 64;  ///< custom: vision tower width
  int64_t vision_layers = 4;  ///< custom: vision blocks
  int64_t vision_patch = 8;   ///< custom: patch size
  int64_t text_width = 64;    ///< custom: text tower width
  int64_t text_layers = 2;    ///< custom: text blocks
  int64_t embed_dim = 64;     ///< custom: joint embedding dimension
  int64_t head_width = 64;    ///< attention head width (heads = width / head_width); also for loaded weights (OpenAI: 64)
};

/// `model.head:` the CAT-Seg cost-aggregation head (CATSEG.md §1).
struct HeadConfig {
  int64_t text_guidance_proj_dim = 128;                        ///< TEXT_GUIDANCE_PROJ_DIM
  int64_t appearance_guidance_proj_dim = 128;                  ///< APPEARANCE_GUIDANCE_PROJ_DIM
  std::vector<int64_t> decoder_dims = {64, 32};                ///< DECODER_DIMS
  std::vector<int64_t> decoder_guidance_dims = {256, 128};     ///< upsampler outputs (48², 96²)
  std::vector<int64_t> decoder_guidance_proj_dims = {32, 16};  ///< DECODER_GUIDANCE_PROJ_DIMS
  int64_t num_layers = 2;                                      ///< aggregator layers
  int64_t num_heads = 4;                                       ///< attention heads
  int64_t hidden_dim = 128;                                    ///< aggregator width
  int64_t window_size = 12;                                    ///< Swin window
  std::vector<int64_t> pooling_sizes = {2, 2};                 ///< class-attention pooling in training (1 at test)
  int64_t pad_len = 256;                                       ///< class padding / top-K pruning (0 disables)
};

/// `model.pat:` Feature Pyramid Tokenization (PAT.md).
struct PatConfig {
  bool enabled = true;                                   ///< false = the plain CAT-Seg baseline
  std::vector<int64_t> levels = {0, 1, 2};               ///< pyramid levels used (0: 96², 1: 48², 2: 24²)
  int64_t code_dim = 64;                                 ///< projection / code dimension d
  int64_t codebook_size = 512;                           ///< codes per level K
  std::string quantizer = "ema";                         ///< ema | loss
  double ema_decay = 0.99;                               ///< EMA codebook decay
  int64_t dead_code_steps = 200;                         ///< restart codes unused for this many steps (0 = never)
  bool decoupled = true;                                 ///< stop-gradient at the CLIP taps
  std::string fusion = "shared";                         ///< shared | per_level
  int64_t fusion_dim = 128;                              ///< width of the fusion module
  std::string decoder_resolution = "full";               ///< full | half
  std::vector<int64_t> decoder_dims = {64, 32, 16, 16};  ///< pixel decoder stage widths
  bool aux_enabled = true;                               ///< auxiliary cosine-to-text head
  double commitment_weight = 0.25;                       ///< beta
  double reconstruction_weight = 1.0;                    ///< L1 reconstruction
  double aux_weight = 0.4;                               ///< auxiliary BCE
  /// Bottom-up composition: each used level's quantized map, through a strided conv, is added to the next
  /// used level's projection before that one is quantized; false quantizes every level on its own.
  bool compose = true;
  double codebook_weight = 1.0;   ///< codebook loss ||sg(z) - q||^2 (quantizer: loss only)
  double aux_logit_scale = 10.0;  ///< aux head: initial multiplier of the cosine (> 0; learned)
  double aux_logit_bias = -10.0;  ///< aux head: initial additive bias (learned)
};

/// `model:` the segmentation model.
struct ModelConfig {
  ClipConfig clip;
  HeadConfig head;
  PatConfig pat;
  double clip_lr_multiplier = 0.01;  ///< CLIP parameters train at lr × this
  /// Weights to start training from, matched by name (PAT checkpoints, model_final files, pat_convert outputs,
  /// official CAT-Seg checkpoints); tensors the file lacks keep their initial values. Empty = none.
  std::string init_weights;
};

/// `data:` datasets and augmentation.
struct DataConfig {
  std::string root;                                ///< dataset root; empty = $PAT_DATASETS, else ./datasets
  std::string train_dataset = "coco-stuff-train";  ///< benchmark name, "generic" or "synthetic"
  std::string val_dataset = "coco-stuff-val";      ///< dataset for periodic validation
  std::string train_class_file;                    ///< class list (JSON array or one name per line)
  std::string val_class_file;                      ///< class list for validation; empty = train list
  std::string train_images;                        ///< generic: images folder
  std::string train_labels;                        ///< generic: labels folder
  std::string val_images;                          ///< generic: images folder
  std::string val_labels;                          ///< generic: labels folder
  int64_t ignore_label = 255;                      ///< generic: ignored label value
  int64_t crop_size = 384;                         ///< training crop
  /// short side of the training images before the crop (detectron2's INPUT.MIN_SIZE_TRAIN); 0: crop_size (CAT-Seg)
  int64_t train_min_size = 0;
  bool color_jitter = true;                        ///< SSD-style color augmentation
  bool flip = true;                                ///< random horizontal flip
  int64_t workers = 2;                             ///< decoding threads
  int64_t prefetch = 4;                            ///< batches queued ahead
  int64_t synthetic_train = 512;                   ///< synthetic: training scenes
  int64_t synthetic_val = 64;                      ///< synthetic: validation scenes
  int64_t synthetic_size = 96;                     ///< synthetic: scene size in pixels
  std::vector<std::string> synthetic_classes;      ///< synthetic: classes in the scenes (empty: the whole catalog)
  int64_t synthetic_min_shapes = 1;                ///< synthetic: objects per scene, uniform in [min, max]
  int64_t synthetic_max_shapes = 4;
  /// synthetic: object circumradius / scene size, uniform in [min, max]
  double synthetic_min_shape_scale = 0.10;
  double synthetic_max_shape_scale = 0.24;
  /// synthetic, training scenes: groups of this many scenes that differ only in their objects' geometries
  /// (hard negatives for `pat_clip pretrain`; `SyntheticOptions::geometry_variants`); 1: none.
  int64_t synthetic_geometry_variants = 1;
  /// synthetic, training scenes: fraction replaced by a close-up of one object (`SyntheticOptions::object_views`,
  /// for `pat_clip pretrain`); 0: none.
  double synthetic_object_views = 0;
  /// synthetic: the classes training labels (the SEEN classes); pixels of the other scene classes are ignored
  /// (255). Empty: synthetic_classes. Declaring it makes the seen/unseen split: the validation classes not
  /// listed here are UNSEEN, and evaluation reports seen / unseen mIoU and their harmonic mean (hIoU).
  std::vector<std::string> synthetic_train_classes;
  /// synthetic: the classes validation and pat_eval score (seen and unseen); empty: synthetic_classes.
  std::vector<std::string> synthetic_val_classes;
};

/// `train:` the optimization loop (CATSEG.md §1.10).
struct TrainConfig {
  std::string output_dir = "runs/pat";  ///< checkpoints, metrics, plots
  int64_t max_iter = 80000;
  int64_t batch_size = 4;  ///< global batch (all processes)
  int64_t grad_accum = 1;  ///< micro-batches per optimizer step
  double lr = 2e-4;
  double weight_decay = 1e-4;
  /// AdamW's second-moment decay and epsilon (detectron2's defaults; OpenAI trained CLIP with 0.98 and 1e-6)
  double adam_beta2 = 0.999;
  double adam_eps = 1e-8;
  double clip_grad_norm = 0.01;     ///< global L2 norm; 0 disables
  std::string schedule = "cosine";  ///< cosine | poly | constant
  double poly_power = 0.9;
  int64_t warmup_iters = 0;
  int64_t checkpoint_period =
      5000;  ///< steps between periodic checkpoints; 0 = none (last.pt still at the end / on a signal)
  int64_t eval_period = 5000;  ///< 0 disables periodic evaluation
  int64_t log_period = 20;
  int64_t keep_checkpoints = 3;  ///< periodic checkpoints kept (last/best always kept)
  /// global: one L2 norm over every trainable parameter (CAT-Seg's full-model clip); per_group: the
  /// baseline's parameters (CLIP, upsamplers, head) and PAT's parameters are clipped separately, each
  /// group to clip_grad_norm, so PAT's gradients do not shrink the baseline's steps.
  std::string clip_grad_mode = "global";
};

/// `pretrain:` contrastive CLIP pretraining on captioned synthetic scenes (`pat_clip pretrain`). The loop is
/// pat_train's: `train:` gives the optimisation (max_iter, batch_size, lr, weight_decay, warmup_iters,
/// schedule, periods, output_dir), `model.clip` the architecture (arch: custom), `data.synthetic_*` the scenes.
struct PretrainConfig {
  double logit_scale_init = 1.0 / 0.07;  ///< exp(logit_scale) at the start (OpenAI: 1/0.07)
  double logit_scale_max = 100.0;        ///< exp(logit_scale) is clamped to this after every step (OpenAI: 100)
  int64_t val_scenes = 256;              ///< held-out captioned scenes: caption retrieval R@1
  int64_t val_crops = 480;               ///< held-out single-object crops: zero-shot accuracy over the object classes
  int64_t window_captions = 0;  ///< captioned windows per training image for the window loss; 0: image captions only
  double window_loss_weight = 1.0;  ///< weight of the window loss against the image-caption loss
};

/// `eval:` the evaluation protocol (CATSEG.md §2).
struct EvalConfig {
  std::string mode = "sliding";   ///< sliding | whole
  int64_t kernel = 384;           ///< tile size
  double overlap = 0.333;         ///< tile overlap
  int64_t out_res = 640;          ///< warp size before tiling
  int64_t test_size = 640;        ///< ResizeShortestEdge of the test mapper
  int64_t class_chunk = 0;        ///< classes per post-processing chunk; 0 = automatic
  std::string miou = "gt";        ///< gt (newer detectron2) | gt_or_pred (older formula)
  bool save_predictions = false;  ///< write prediction maps and visualizations
};

/// `infer:` single-image prediction.
struct InferConfig {
  double threshold = 0.0;   ///< pixels below this probability stay unlabeled
  int64_t max_side = 4096;  ///< larger images are processed in tiles of the eval protocol
};

/// The whole resolved configuration.
struct Config {
  ModelConfig model;
  DataConfig data;
  TrainConfig train;
  EvalConfig eval;
  InferConfig infer;
  PretrainConfig pretrain;
  RuntimeConfig runtime;
};

/// Loads a YAML file with `_base_` inheritance (relative path or list, merged recursively, child wins,
/// cycles detected), applies `--set key.path=value` overrides, and validates every field. Errors name
/// the file (or the override) and the full key path.
Config load_config(const std::string& path, const std::vector<std::string>& overrides = {});

/// The defaults with overrides applied (no file).
Config default_config(const std::vector<std::string>& overrides = {});

/// Parses a YAML document given as text (`origin` names it in errors); `_base_` paths are relative to
/// `base_dir`.
Config parse_config(const std::string& yaml_text, const std::string& origin, const std::string& base_dir = ".");

/// The resolved configuration as YAML, every field written, so that a run can be repeated from it alone.
std::string to_yaml(const Config& config);

/// Writes `to_yaml(config)` atomically to `path`.
void save_config(const Config& config, const std::string& path);

}  // namespace pat
